"""`check` of routing.yaml `availability`: what the model alone cannot see.

An inverted window is refused by the model (availability_schema.Away). Here: an owner
key that cannot be an email or an id, two windows of one owner that overlap (which
one holds? the author meant one longer window, or mistyped a date), and a key close
to a pool member's but not theirs (without a book, the routing file's own names are
the only ones to suggest). Owners unknown to a book are checked by semantics.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from roleSync.errors import Diagnostic, Severity
from roleSync.model import Owner
from roleSync.rules.availability_schema import Away
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.schema import RolePool, RoutingFile
from roleSync.rules.suggest import close_match

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _shape(key: str) -> str | None:
    """Why `key` can be neither an email nor a CRM id, or None."""
    if "@" in key:
        return None if _EMAIL.fullmatch(key) else f"{key!r} is not an email address"
    if any(c.isspace() for c in key):
        return f"{key!r} is not an email or a CRM id (name owners as pools do, e.g. by email)"
    return None


def _named(routing: RoutingFile) -> dict[str, str]:
    """Every owner key the file's pools and weights name, by their casefolded spelling."""
    routes = [*routing.routes, *(r for b in routing.blocks for r in b.routes or ())]
    names: dict[str, str] = {}
    for route in routes:
        pool = route.assign.pool
        keys = [*([] if isinstance(pool, RolePool) else pool), *(route.assign.weights or {})]
        names.update({key.casefold(): key for key in keys})
    return names


def availability_problems(
    loaded: LoadedYaml, routing: RoutingFile, owners: Mapping[str, Owner] | None
) -> Iterator[Diagnostic]:
    named = _named(routing)
    windows: dict[str, list[tuple[int, Away]]] = {}
    for index, entry in enumerate(routing.availability):
        loc: Loc = ("availability", index, "owner")
        shape = _shape(entry.owner)
        if shape is not None:
            yield loaded.diagnostic(loc, shape, "owner-key")
            continue
        owner = None if owners is None else owners.get(entry.owner.casefold())
        owner = owner or (None if owners is None else owners.get(entry.owner))
        if owners is None and named and entry.owner.casefold() not in named:
            match = close_match(entry.owner.casefold(), named)
            if match is not None:
                yield loaded.diagnostic(
                    loc,
                    f"{entry.owner!r} is in no pool of this file; did you mean {named[match]!r}?",
                    "unknown-owner",
                    severity=Severity.WARNING,
                )
        who = owner.id if owner is not None else entry.owner.casefold()
        windows.setdefault(who, []).append((index, entry))
    for theirs in windows.values():
        yield from _overlaps(loaded, theirs)


def _overlaps(loaded: LoadedYaml, theirs: list[tuple[int, Away]]) -> Iterator[Diagnostic]:
    """Each window that overlaps one listed before it for the same owner, at its `from`."""
    for n, (index, entry) in enumerate(theirs):
        for other_index, other in theirs[:n]:
            if entry.start <= other.until and other.start <= entry.until:
                line = loaded.position(("availability", other_index))[0]
                yield loaded.diagnostic(
                    ("availability", index, "from"),
                    f"{entry.owner}'s window {entry.start}..{entry.until} overlaps the one on "
                    f"line {line} ({other.start}..{other.until}): make them one window",
                    "overlapping-windows",
                )
                break
