"""The owners of a pull: both owner lists, and the users object when it is needed.

Owners have no search: both lists (active, archived) are read every time (a few
requests). With metrics going to the users object, or owner properties mapped
(`hubspot.owner_properties`: owners hold no properties, users do), its records are read
too (each owner's user, job title, the metric values it holds and the owner properties).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from roleSync.adapters.hubspot.records import (
    METRIC_PREFIX,
    metric_properties,
    metric_values,
    owner_row,
)
from roleSync.model import Book, FieldValue

if TYPE_CHECKING:
    from roleSync.adapters.hubspot.pull import Puller

USER_ID = "hs_internal_user_id"
JOB_TITLE = "hs_job_title"


def pull_owners(puller: Puller) -> int:
    """Both owner lists, the users object when metrics go there or the profile maps
    owner properties (`owner_properties`: owners hold none), into the mirror."""
    owners = [*puller.client.owners(archived=False), *puller.client.owners(archived=True)]
    titles: dict[str, str] = {}
    fields: dict[str, dict[str, FieldValue]] = {}
    extras: dict[str, dict[str, FieldValue]] = {}
    to_users = puller.profile.metrics.write and puller.profile.metrics_destination == "users"
    if to_users or puller.section.owner_properties:
        titles, held, extras = _users(puller, owners, metrics=to_users)
        fields = held if to_users else fields
    if puller.profile.metrics.write and not to_users:
        fields = _carried(puller, puller.mirror.read_book(), [str(o["id"]) for o in owners])
    rows = [
        owner_row(
            o,
            titles.get(str(o["id"]), ""),
            fields.get(str(o["id"]), {}),
            extras.get(str(o["id"]), {}),
        )
        for o in owners
    ]
    puller.mirror.store("owners", "owners", rows, cursor=None, replace=True)
    return len(rows)


def _users(
    puller: Puller, owners: Sequence[Mapping[str, Any]], *, metrics: bool
) -> tuple[dict[str, str], dict[str, dict[str, FieldValue]], dict[str, dict[str, FieldValue]]]:
    """Each owner's users record (by `hs_internal_user_id` = the owner's user id): job
    title, the metric values it holds (with `metrics`) and its owner properties."""
    mapped = puller.section.owner_properties
    names = metric_properties(puller.profile) if metrics else ()
    wanted = list(dict.fromkeys((USER_ID, JOB_TITLE, *names, *mapped.values())))
    by_user: dict[str, Mapping[str, Any]] = {}
    for page in puller.client.list_all("users", wanted):
        for record in page:
            user = (record.get("properties") or {}).get(USER_ID)
            if user not in (None, ""):
                by_user[str(user)] = record
    titles: dict[str, str] = {}
    fields: dict[str, dict[str, FieldValue]] = {}
    extras: dict[str, dict[str, FieldValue]] = {}
    puller.links.user_records.clear()
    for owner in owners:
        user = owner.get("userIdIncludingInactive") or owner.get("userId")
        found = by_user.get(str(user)) if user else None
        if found is None:
            continue
        owner_id = str(owner["id"])
        properties = found.get("properties") or {}
        puller.links.user_records[owner_id] = str(found["id"])
        titles[owner_id] = str(properties.get(JOB_TITLE) or "")
        if metrics:
            fields[owner_id] = metric_values(puller.profile, properties)
        # As HubSpot sends them: text, a multiple-checkboxes value as "EMEA;APAC".
        extras[owner_id] = {name: properties.get(prop) for name, prop in mapped.items()}
    return titles, fields, extras


def _carried(
    puller: Puller, book: Book, owner_ids: Sequence[str]
) -> dict[str, dict[str, FieldValue]]:
    """Metrics destination companies: an owner "holds" a value when every company it
    owns carries it (so a company moved to it by hand makes the plan write again); an
    owner with no company keeps what roleSync last recorded for it."""
    held: dict[str, dict[str, set[Any]]] = {}
    for account in book.accounts.values():
        if account.owner_id is None:
            continue
        per = held.setdefault(account.owner_id, {})
        for dest in puller.profile.metrics.fields.values():
            per.setdefault(dest, set()).add(account.fields.get(METRIC_PREFIX + dest))
    result: dict[str, dict[str, FieldValue]] = {}
    for owner_id in owner_ids:
        if owner_id in held:
            result[owner_id] = {d: next(iter(v)) for d, v in held[owner_id].items() if len(v) == 1}
        elif owner_id in book.owners:
            result[owner_id] = dict(book.owners[owner_id].recorded)
    return result
