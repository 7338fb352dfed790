"""Find whom `explain` is asked about: an owner by id, email or full name, and a
did-you-mean when nobody matches.

People type what they see in the CRM: "Dana Kim", "dana@example.com", a pasted id. Ids
match exactly, emails and names case-insensitively (names with blanks collapsed). A
name two owners share is not guessed: the candidates are listed. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from roleSync.errors import ConfigError
from roleSync.model import Owner

T = TypeVar("T")
# (id, email, name) of a candidate owner.
Keys = Callable[[T], tuple[str, str, str]]


class AmbiguousOwnerError(ConfigError):
    """Several owners carry the name asked for."""


def owner_keys(owner: Owner) -> tuple[str, str, str]:
    return owner.id, owner.email, owner.name


def folded(text: str) -> str:
    """A name as compared: case and runs of blanks ignored."""
    return " ".join(text.split()).casefold()


def find_owner(key: str, owners: Iterable[T], keys: Keys[T]) -> T | None:
    """The owner with this id, email or full name; raises AmbiguousOwnerError when the name
    belongs to several (by id or email they are told apart)."""
    listed = list(owners)
    for owner in listed:
        if keys(owner)[0] == key:
            return owner
    for owner in listed:
        email = keys(owner)[1]
        if email and email.casefold() == key.strip().casefold():
            return owner
    named = [o for o in listed if folded(keys(o)[2]) == folded(key) and folded(key)]
    if len(named) > 1:
        shown = ", ".join(f"{keys(o)[2]} <{keys(o)[1] or keys(o)[0]}>" for o in named)
        raise AmbiguousOwnerError(
            f"{len(named)} owners are named {key!r}: {shown}; give the email or id"
        )
    return named[0] if named else None


def suggestion(key: str, owners: Iterable[T], keys: Keys[T], others: Sequence[str] = ()) -> str:
    """'; did you mean ...?' over owners' ids, emails and names and `others` (account
    ids and names), or "". An email is compared by the part before the @: every address
    shares the domain, which would make any two of them look alike."""
    choices: dict[str, str] = {}  # what is compared -> what is shown
    local = key.split("@")[0].casefold() if "@" in key else None
    for owner in owners:
        ident, email, name = keys(owner)
        if local is not None and email:
            choices.setdefault(email.split("@")[0].casefold(), email)
            choices.setdefault(email.casefold(), email)
        elif local is None:
            choices.setdefault(ident.casefold(), ident)
            if name:
                choices.setdefault(folded(name), name)
    if local is None:
        for other in others:
            choices.setdefault(folded(other), other)
    wanted = local if local is not None else folded(key)
    match = difflib.get_close_matches(wanted, list(choices), n=1, cutoff=0.6)
    if local is not None and not match:
        match = difflib.get_close_matches(key.casefold(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {choices[match[0]]!r}?" if match else ""
