"""`check` on territory matches (`assign.match`): the names they compare.

Two passes, as for the fields of conditions: `shape_problems` reads the raw file (so a
name is reported even when the file has other errors) and needs no profile: account
fields must be roleSync's or `account.fields.<name>`, owner fields `owner.fields.<name>`.
`profile_problems` runs on the validated model when `check -c PROFILE` says which extra
fields the profile maps: an extra name it does not map would never hold a value, so
every member would be refused; both are errors with a did-you-mean.

Pure: data and positions in, diagnostics out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from roleSync.errors import Diagnostic
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.schema import ACCOUNT_EXTRA_PREFIX, ACCOUNT_FIELDS, Route
from roleSync.rules.suggest import did_you_mean
from roleSync.rules.territory_schema import OWNER_EXTRA_PREFIX

OWNER_SHAPE = f"{OWNER_EXTRA_PREFIX}<name>"


def _account_shape(name: str) -> str | None:
    if name in ACCOUNT_FIELDS or (
        name.startswith(ACCOUNT_EXTRA_PREFIX) and len(name) > len(ACCOUNT_EXTRA_PREFIX)
    ):
        return None
    known = (*ACCOUNT_FIELDS, f"{ACCOUNT_EXTRA_PREFIX}<name>")
    hint = did_you_mean(name, ACCOUNT_FIELDS) or f"; known: {', '.join(known)}"
    return f"unknown account field {name!r}{hint}"


def _owner_shape(name: str) -> str | None:
    if name.startswith(OWNER_EXTRA_PREFIX) and len(name) > len(OWNER_EXTRA_PREFIX):
        return None
    # "owner.region", "owner.feilds.regions": the last part is most likely the name meant.
    last = name.rpartition(".")[2]
    hint = (
        f"; did you mean {OWNER_EXTRA_PREFIX + last!r}?"
        if name.startswith("owner.") and last and last != "fields"
        else ""
    )
    return (
        f"unknown owner field {name!r} in a territory match: give {OWNER_SHAPE}, an owner "
        f"field the connector profile maps{hint}"
    )


def shape_problems(loaded: LoadedYaml, route: Any, loc: Loc) -> Iterator[Diagnostic]:
    """Names of a raw route's `assign.match` that are not field names at all."""
    assign = route.get("assign") if isinstance(route, dict) else None
    matches = assign.get("match") if isinstance(assign, dict) else None
    if not isinstance(matches, list):
        return
    for i, part in enumerate(matches):
        if not isinstance(part, dict):
            continue
        at = (*loc, "assign", "match", i)
        for key, check in (("account", _account_shape), ("owner", _owner_shape)):
            name = part.get(key)
            problem = check(name) if isinstance(name, str) else None
            if problem:
                yield loaded.diagnostic((*at, key), problem, "unknown-field")


def profile_problems(
    loaded: LoadedYaml,
    routes: list[Route],
    loc: Loc,
    account_fields: frozenset[str] | None,
    owner_fields: frozenset[str] | None,
    owner_section: str,
) -> Iterator[Diagnostic]:
    """Extra names the connector profile does not map (None: no profile, unchecked).
    `owner_section`: the profile key that maps owner fields, for the message."""
    for index, route in enumerate(routes):
        for i, part in enumerate(route.assign.match or ()):
            at = (*loc, index, "assign", "match", i)
            if part.account.startswith(ACCOUNT_EXTRA_PREFIX) and account_fields is not None:
                extra = part.account[len(ACCOUNT_EXTRA_PREFIX) :]
                if extra not in account_fields:
                    yield loaded.diagnostic(
                        (*at, "account"),
                        f"the connector profile maps no account field {extra!r}"
                        f"{did_you_mean(extra, account_fields)}",
                        "unknown-field",
                    )
            if part.owner.startswith(OWNER_EXTRA_PREFIX) and owner_fields is not None:
                extra = part.owner[len(OWNER_EXTRA_PREFIX) :]
                if extra not in owner_fields:
                    hint = did_you_mean(extra, owner_fields) or (
                        f"; map it in {owner_section}"
                        if not owner_fields
                        else f"; mapped: {', '.join(sorted(owner_fields))}"
                    )
                    yield loaded.diagnostic(
                        (*at, "owner"),
                        f"the connector profile maps no owner field {extra!r}{hint}",
                        "unknown-field",
                    )
