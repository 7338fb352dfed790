"""Territory: a route's `assign.match`, which keeps each account among the pool members
whose own fields match it (the account's region is the owner's region, or one of the
owner's regions). Pure: values in, a refusal reason or None out.

Comparisons are on text, as the rest of routing compares text: case-insensitive,
surrounding blanks ignored (CRM picklists are edited by hand: "EMEA", "emea "). Numbers
and booleans are compared as they are written (`1` and `1.0` alike, `true`). A blank on
either side never matches: an account without a region belongs to nobody's territory,
and an owner without regions covers none. With `in`, the owner's field holds a list in
one text separated by `;` (Salesforce multi-select picklists and HubSpot checkboxes send
`EMEA;APAC`); blank entries are ignored.

Round robin keeps one rotation per territory (the account's matched values): with a
single rotation over the whole pool, the pointer left by an AMER pick would make the
next EMEA account skip past EMEA members in front of it, and an EMEA member right after
an AMER one would receive every second EMEA account while another starved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from roleSync.model import Account, FieldValue, Owner
from roleSync.rules.schema import ACCOUNT_EXTRA_PREFIX, ACCOUNT_FIELDS
from roleSync.rules.territory_schema import (
    LIST_SEPARATOR,
    OWNER_EXTRA_PREFIX,
    MatchOp,
    TerritoryMatch,
)

# Every territory refusal starts with this: plans and explain show it per member, and a
# skip counts the members it kept out under one heading.
OUTSIDE = "outside territory"


def text_of(value: FieldValue) -> str:
    """A field value as the text compared: trimmed, as written (numbers without a
    useless `.0`, booleans as true/false); blank for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# typed: True and 1 are equal keys to a plain cache, but read "true" and "1".
@lru_cache(maxsize=4096, typed=True)
def owner_values(value: FieldValue, op: MatchOp) -> tuple[str, ...]:
    """The owner's values as written (trimmed, blanks dropped): one for eq, the `;` list
    for in. Cached by the raw value: a pool's members share a handful of them."""
    text = text_of(value)
    parts = text.split(LIST_SEPARATOR) if op is MatchOp.IN else [text]
    return tuple(p.strip() for p in parts if p.strip())


@lru_cache(maxsize=4096)
def _folded(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


def account_getter(name: str) -> Callable[[Account], FieldValue]:
    """How to read an account field named in a match; ValueError for a name the rule-set
    loader would have refused (a bug guard)."""
    if name.startswith(ACCOUNT_EXTRA_PREFIX) and len(name) > len(ACCOUNT_EXTRA_PREFIX):
        extra = name[len(ACCOUNT_EXTRA_PREFIX) :]
        return lambda account: account.fields.get(extra)
    if name in ACCOUNT_FIELDS:
        attribute = name.partition(".")[2]
        return lambda account: getattr(account, attribute)
    raise ValueError(f"a territory match reads account fields, not {name!r}")


def owner_field(name: str) -> str:
    """The `<name>` of `owner.fields.<name>`; ValueError otherwise (a bug guard)."""
    if not name.startswith(OWNER_EXTRA_PREFIX) or len(name) == len(OWNER_EXTRA_PREFIX):
        raise ValueError(f"a territory match reads owner.fields.<name>, not {name!r}")
    return name[len(OWNER_EXTRA_PREFIX) :]


def _label(name: str) -> str:
    return name.rpartition(".")[2]


class _Part:
    __slots__ = ("account", "field", "label", "op", "owner_label")

    def __init__(self, match: TerritoryMatch) -> None:
        self.account = account_getter(match.account)
        self.field = owner_field(match.owner)
        self.label = _label(match.account)
        self.owner_label = _label(match.owner)
        self.op = match.op


class Territory:
    """A route's compiled `match`: which members an account may go to, and why not."""

    __slots__ = ("_parts",)

    def __init__(self, matches: Sequence[TerritoryMatch]) -> None:
        self._parts = tuple(_Part(m) for m in matches)

    def key(self, account: Account) -> str:
        """The account's territory: its matched values, folded. Accounts with one key
        share a round-robin rotation."""
        return "|".join(text_of(p.account(account)).casefold() for p in self._parts)

    def summary(self, account: Account) -> str:
        """The heading a skip counts territory refusals under: `outside territory
        (region EMEA)`."""
        shown = ", ".join(
            f"{p.label} {value}" if (value := text_of(p.account(account))) else f"no {p.label}"
            for p in self._parts
        )
        return f"{OUTSIDE} ({shown})"

    def grouped(self, reason: str, account: Account) -> str:
        """`reason` as a skip counts it: every territory refusal under `summary`."""
        return self.summary(account) if reason.startswith(OUTSIDE) else reason

    def refusal(self, owner: Owner, account: Account) -> str | None:
        """Why `owner` is outside the account's territory; None when every part matches."""
        for part in self._parts:
            wanted = text_of(part.account(account))
            if not wanted:
                return f"{OUTSIDE} (no {part.label} on the account)"
            held = owner_values(owner.fields.get(part.field), part.op)
            if not held:
                return f"{OUTSIDE} (no {part.owner_label} on the owner)"
            if wanted.casefold() in _folded(held):
                continue
            if part.op is MatchOp.IN:
                return f"{OUTSIDE} ({part.label} {wanted} not in {', '.join(held)})"
            return f"{OUTSIDE} ({part.label} {wanted} is not {held[0]})"
        return None


def compile_territory(matches: Sequence[TerritoryMatch] | None) -> Territory | None:
    return Territory(matches) if matches else None
