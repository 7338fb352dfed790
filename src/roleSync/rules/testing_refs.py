"""The book of a rule test and the references of its expectations, checked with positions.

The schema sees each value alone; these checks see the whole test: a deal on an
account the book lacks, an expectation about an owner it does not have, a rotation
naming a route the rules do not define. Each becomes a Diagnostic at the offending key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, time

from roleSync.errors import Diagnostic
from roleSync.model import Account, Book, Deal, Owner
from roleSync.rules.classify import OVERRIDE_RULE
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.ruleset import RuleSet
from roleSync.rules.testing_schema import BookSpec, DealStatus, Expectations


class BookBuilder:
    """Builds the Book of a test, checking the references inside it with positions."""

    def __init__(self, loaded: LoadedYaml, loc: Loc) -> None:
        self.loaded = loaded
        self.loc = loc
        self.problems: list[Diagnostic] = []
        self.owner_keys: dict[str, str] = {}

    def _problem(self, loc: Loc, message: str, code: str) -> None:
        self.problems.append(self.loaded.diagnostic((*self.loc, *loc), message, code))

    def _unique(self, section: str, name: str, keys: Iterable[str]) -> None:
        # The Book indexes by these; a repeat would silently replace an earlier entry.
        seen: set[str] = set()
        for index, key in enumerate(keys):
            if key and key in seen:
                message = f"{name} {key!r} appears twice in {section}"
                self._problem((section, index, name), message, "duplicate-id")
            seen.add(key)

    def _owner(self, key: str | None, loc: Loc) -> str | None:
        if key is None:
            return None
        found = self.owner_keys.get(key) or self.owner_keys.get(key.casefold())
        if found is None:
            self._problem(loc, f"no owner {key!r} in the book", "unknown-owner")
        return found

    def build(self, spec: BookSpec) -> Book:
        """The book, minus what does not resolve; see `problems` before running a test on it."""
        self._unique("owners", "id", (o.id for o in spec.owners))
        self._unique("owners", "email", (o.email.casefold() for o in spec.owners))
        self._unique("accounts", "id", (a.id for a in spec.accounts))
        self._unique("deals", "id", (d.id for d in spec.deals))
        owners = [
            Owner(o.id, o.name or o.id, o.email, o.title, o.active, fields=dict(o.fields))
            for o in spec.owners
        ]
        for owner in owners:
            self.owner_keys.setdefault(owner.id, owner.id)
            if owner.email:
                self.owner_keys.setdefault(owner.email.casefold(), owner.id)
        accounts = list(self._accounts(spec))
        deals = list(self._deals(spec, {a.id: a for a in accounts}))
        # Built even when broken, so that the test's expectations can still be checked.
        return Book(owners, accounts, deals)

    def _accounts(self, spec: BookSpec) -> Iterator[Account]:
        for index, a in enumerate(spec.accounts):
            owner_id = self._owner(a.owner, ("accounts", index, "owner"))
            yield Account(
                id=a.id,
                name=a.name or a.id,
                owner_id=owner_id,
                lifecycle=a.lifecycle,
                segment=a.segment,
                region=a.region,
                tier=a.tier,
                fields=dict(a.fields),
                locked=a.locked,
                updated=None if a.updated is None else datetime.combine(a.updated, time()),
            )

    def _deals(self, spec: BookSpec, accounts: Mapping[str, Account]) -> Iterator[Deal]:
        for index, d in enumerate(spec.deals):
            account = accounts.get(d.account)
            if account is None:
                message = f"no account {d.account!r} in the book"
                self._problem(("deals", index, "account"), message, "unknown-account")
                continue
            # No owner: the Book credits the account's owner (the rule every source shares).
            owner_id = (
                self._owner(d.owner, ("deals", index, "owner")) if d.owner is not None else None
            )
            created = d.created or d.closed
            assert created is not None  # DealSpec requires one of them
            yield Deal(
                id=d.id,
                account_id=d.account,
                owner_id=owner_id,
                kind=d.kind,
                stage=d.stage or d.status.value,
                closed=d.status is not DealStatus.OPEN,
                won=d.status is DealStatus.WON,
                amount=None if d.amount is None else float(d.amount),
                created=created,
                close_date=d.closed,
            )


class ReferenceChecker:
    """Checks that a test's expectations and rotation name only what exists."""

    def __init__(self, loaded: LoadedYaml, book: Book, rules: RuleSet | None) -> None:
        self.loaded = loaded
        self.book = book
        self.rules = rules

    def _at(self, loc: Loc, message: str, code: str, *, key: bool = True) -> Diagnostic:
        return self.loaded.diagnostic(loc, message, code, prefer_key=key)

    def _owners(self, keys: Iterable[str], loc: Loc) -> Iterator[Diagnostic]:
        for key in keys:
            if self.book.find_owner(key) is None:
                yield self._at((*loc, key), f"no owner {key!r} in the book", "unknown-owner")

    def _accounts(self, keys: Iterable[str], loc: Loc) -> Iterator[Diagnostic]:
        for key in keys:
            if key not in self.book.accounts:
                yield self._at((*loc, key), f"no account {key!r} in the book", "unknown-account")

    def expectations(self, expect: Expectations, loc: Loc) -> Iterator[Diagnostic]:
        yield from self._owners(expect.roles or {}, (*loc, "roles"))
        yield from self._owners(expect.metrics or {}, (*loc, "metrics"))
        yield from self._accounts(expect.owners or {}, (*loc, "owners"))
        yield from self._accounts(expect.skipped or {}, (*loc, "skipped"))
        yield from self._accounts(expect.handoff_ids or {}, (*loc, "handoff_ids"))
        yield from self._accounts(expect.tasks or {}, (*loc, "tasks"))
        for account_id, tasks in (expect.tasks or {}).items():
            for index, task in enumerate(tasks):
                if task.owner is not None and self.book.find_owner(task.owner) is None:
                    where = (*loc, "tasks", account_id, index, "owner")
                    message = f"no owner {task.owner!r} in the book"
                    yield self._at(where, message, "unknown-owner", key=False)
        for account_id, owner in (expect.owners or {}).items():
            if owner is not None and self.book.find_owner(owner) is None:
                where = (*loc, "owners", account_id)
                yield self._at(where, f"no owner {owner!r} in the book", "unknown-owner", key=False)
        for key, rule_id in (expect.rules or {}).items():
            yield from self._rule(key, rule_id, (*loc, "rules", key))

    def _rule(self, key: str, rule_id: str | None, loc: Loc) -> Iterator[Diagnostic]:
        is_owner = self.book.find_owner(key) is not None
        is_account = key in self.book.accounts
        if is_owner == is_account:
            what = "both an owner and an account" if is_owner else "no owner or account"
            yield self._at(loc, f"{key!r} names {what} of the book", "unknown-subject")
            return
        if self.rules is None or rule_id is None:
            return
        if is_owner:
            known = [r.id for r in self.rules.roles.classify] + [OVERRIDE_RULE]
            kind = "classification rule"
        else:
            known = self.rules.routing.route_ids
            kind = "route"
        if rule_id not in known:
            message = f"no {kind} {rule_id!r} in the rules; known: {', '.join(known)}"
            yield self._at(loc, message, "unknown-rule", key=False)

    def rotation(self, rotation: Mapping[str, str], loc: Loc) -> Iterator[Diagnostic]:
        if self.rules is None:
            return
        routes = self.rules.routing.route_ids
        for route_id in rotation:
            if route_id not in routes:
                message = f"no route {route_id!r} in the rules; known: {', '.join(routes)}"
                yield self._at((*loc, route_id), message, "unknown-rule")
