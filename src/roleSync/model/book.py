"""The Book: one CRM's owners and accounts, with their deals held or already folded, and
the contacts and tasks that belong to its accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TypeVar

from roleSync.model.deal_facts import DealFacts, DealWindow, Trigger, summarize_deals
from roleSync.model.records import (
    CUSTOMER,
    Account,
    Contact,
    Deal,
    Owner,
    Task,
    infer_deal_kinds,
)

_Related = TypeVar("_Related", Contact, Task)


class FoldedDealsError(RuntimeError):
    """A folded book was asked for its deals, or for a window it was not folded for."""


class Book:
    """A snapshot of one CRM: owners, accounts and deals, indexed for the pure stages.

    Two ways to build one. `Book(owners, accounts, deals)` holds every deal (kinds
    resolved on construction) and answers facts for any window: small books, tests,
    rule tests, the demo. `Book.folded(...)` folds a stream of deals into the facts of
    one window as it reads them and keeps no deal: what a plan of a large book uses,
    so memory grows with accounts and owners, not with deals.

    Contacts and tasks (what a handoff can carry along with its account) are held
    either way, by id, and indexed by account on first use.
    """

    __slots__ = (
        "_by_account",
        "_contacts_by_account",
        "_deals",
        "_facts",
        "_owners_by_key",
        "_tasks_by_account",
        "accounts",
        "contacts",
        "owners",
        "tasks",
    )

    def __init__(
        self,
        owners: Iterable[Owner],
        accounts: Iterable[Account],
        deals: Iterable[Deal],
        *,
        contacts: Iterable[Contact] = (),
        tasks: Iterable[Task] = (),
    ) -> None:
        self.owners: dict[str, Owner] = {o.id: o for o in sorted(owners, key=_BY_ID)}
        self.accounts: dict[str, Account] = {a.id: a for a in sorted(accounts, key=_BY_ID)}
        self.contacts: dict[str, Contact] = {c.id: c for c in sorted(contacts, key=_BY_ID)}
        self.tasks: dict[str, Task] = {t.id: t for t in sorted(tasks, key=_BY_ID)}
        self._contacts_by_account: dict[str, list[Contact]] | None = None
        self._tasks_by_account: dict[str, list[Task]] | None = None
        # A deal with a blank owner keeps it blank: it counts for whoever owns its account
        # (DealFacts.unowned, resolved by compute_role_metrics), before or after a move.
        self._deals: list[Deal] | None = sorted(infer_deal_kinds(deals), key=_BY_ID)
        self._by_account: dict[str, list[Deal]] | None = None
        self._facts: dict[DealWindow | None, DealFacts] = {}
        self._owners_by_key: dict[str, Owner] = {}
        for owner in self.owners.values():
            self._owners_by_key[owner.id] = owner
            if owner.email:
                self._owners_by_key.setdefault(owner.email.casefold(), owner)

    @classmethod
    def folded(
        cls,
        owners: Iterable[Owner],
        accounts: Iterable[Account],
        deal_groups: Iterable[Sequence[Deal]],
        window: DealWindow,
        *,
        deal_count: int | None = None,
        contacts: Iterable[Contact] = (),
        tasks: Iterable[Task] = (),
    ) -> Book:
        """A book whose deals are folded into `window`'s facts as they stream by.

        `deal_groups` gives all deals of one account together, accounts in ascending id
        order (`summarize_deals` checks it). `deal_count`: the book's number of deals,
        when the stream left out deals that cannot change any fact (open ones).
        """
        book = cls(owners, accounts, (), contacts=contacts, tasks=tasks)
        book._deals = None
        facts = summarize_deals(deal_groups, window)
        if deal_count is not None:
            facts.deal_count = deal_count
        book._facts = {window: facts}
        return book

    # -- deals -----------------------------------------------------------------------

    @property
    def deals(self) -> list[Deal]:
        """Every deal, by id. A folded book has none to give."""
        if self._deals is None:
            raise FoldedDealsError(
                "this book's deals were folded into aggregates as they were read; "
                "pull without a window to hold them"
            )
        return self._deals

    @property
    def deals_by_account(self) -> dict[str, list[Deal]]:
        """Account id -> its deals by id, accounts in id order."""
        if self._by_account is None:
            by_account: dict[str, list[Deal]] = {}
            for deal in self.deals:
                by_account.setdefault(deal.account_id, []).append(deal)
            self._by_account = dict(sorted(by_account.items()))
        return self._by_account

    @property
    def deal_count(self) -> int:
        return len(self._deals) if self._deals is not None else self._any_facts().deal_count

    def deal_facts(self, window: DealWindow) -> DealFacts:
        """Tallies, revenue, triggers and customers of `window` (computed once per window)."""
        facts = self._facts.get(window)
        if facts is not None and not window.stages <= _watched(facts):
            # Facts of the same window that watched fewer stages: a held book folds again.
            facts = None if self._deals is not None else _missing_stages(window, facts)
        if facts is None:
            if self._deals is None:
                held = ", ".join(f"{w.days} days to {w.as_of}" for w in self._facts if w)
                raise FoldedDealsError(
                    f"this book was folded for the window of {held}, "
                    f"not {window.days} days to {window.as_of}"
                )
            facts = self._facts[window] = summarize_deals(self.deals_by_account.values(), window)
        return facts

    def _any_facts(self) -> DealFacts:
        """Facts that do not depend on the window: any window's serve."""
        for facts in self._facts.values():
            return facts
        facts = self._facts[None] = summarize_deals(self.deals_by_account.values(), None)
        return facts

    # -- the records that belong to an account ----------------------------------------

    @property
    def contacts_by_account(self) -> dict[str, list[Contact]]:
        """Account id -> its contacts by id; contacts without an account are left out."""
        if self._contacts_by_account is None:
            self._contacts_by_account = _by_account(self.contacts.values())
        return self._contacts_by_account

    @property
    def tasks_by_account(self) -> dict[str, list[Task]]:
        """Account id -> its tasks (open and closed) by id; tasks about no account are
        left out."""
        if self._tasks_by_account is None:
            self._tasks_by_account = _by_account(self.tasks.values())
        return self._tasks_by_account

    def open_tasks(self, account_id: str) -> list[Task]:
        """The account's open tasks by id: what a handoff can carry."""
        return [t for t in self.tasks_by_account.get(account_id, ()) if not t.closed]

    # -- questions the stages ask --------------------------------------------------------

    def find_owner(self, key: str) -> Owner | None:
        """An owner by id or by email (case-insensitive), as rule files name them."""
        return self._owners_by_key.get(key) or self._owners_by_key.get(key.casefold())

    def first_won_new_business(self, account_id: str) -> Trigger | None:
        """The account's first won new-business deal: the handoff trigger."""
        return self._any_facts().triggers.get(account_id)

    def is_customer(self, account: Account) -> bool:
        """A customer by its lifecycle, or by having won any deal."""
        return account.lifecycle == CUSTOMER or account.id in self._any_facts().won_accounts

    def __repr__(self) -> str:
        return (
            f"Book(owners={len(self.owners)}, accounts={len(self.accounts)}, "
            f"deals={self.deal_count}, contacts={len(self.contacts)}, tasks={len(self.tasks)})"
        )


_BY_ID = attrgetter("id")


def _by_account(records: Iterable[_Related]) -> dict[str, list[_Related]]:
    """Records (already in id order) grouped by account, accounts in id order."""
    grouped: dict[str, list[_Related]] = {}
    for record in records:
        if record.account_id is not None:
            grouped.setdefault(record.account_id, []).append(record)
    return dict(sorted(grouped.items()))


def _watched(facts: DealFacts) -> frozenset[str]:
    return facts.window.stages if facts.window is not None else frozenset()


def _missing_stages(window: DealWindow, facts: DealFacts) -> DealFacts:
    missing = ", ".join(sorted(window.stages - _watched(facts)))
    raise FoldedDealsError(f"this book was folded without watching the stages: {missing}")
