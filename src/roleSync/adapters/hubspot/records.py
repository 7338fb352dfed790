"""HubSpot records to mirror rows, and batch answers to per-record results: pure.

Property values travel as text (or null): numbers as decimal text, booleans as
"true"/"false", datetimes as ISO text. Rows keep raw CRM values (deal type, lifecycle
stage), which the profile maps when the Book is read, as for every CRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from roleSync.adapters.hubspot.search import STAMP, stamp_ms
from roleSync.adapters.mirror import (
    NO_ACCOUNT_PREFIX,
    AccountRow,
    ContactRow,
    DealRow,
    OwnerRow,
    Row,
    TaskRow,
    entry_amount,
)
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.model import FieldValue
from roleSync.profile import Profile

OWNER = "hubspot_owner_id"
DELETED = "deleted or archived in HubSpot"
# Metric values a company carries (metrics destination companies) are kept in the
# mirror among the account's fields under "@<property>": not a valid rule field name,
# so rules cannot read them by accident.
METRIC_PREFIX = "@"
_TRUE = frozenset({"true", "1", "yes", "on"})
_CLOSED_STAGES = frozenset({"closedwon", "closedlost"})


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


def text(properties: Mapping[str, Any], name: str | None) -> str:
    value = properties.get(name) if name else None
    return "" if value is None else str(value)


def iso(raw: object) -> str | None:
    """A HubSpot datetime as ISO text in UTC (what the mirror keeps)."""
    if isinstance(raw, str) and len(raw) == 24 and raw[10] == "T" and raw[-1] == "Z":
        return raw[:-1] + "+00:00"  # HubSpot's own 2026-06-30T12:00:00.000Z: no parsing
    ms = stamp_ms(raw)
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def truthy(raw: object) -> bool:
    return raw is not None and str(raw).strip().lower() in _TRUE


def metric_properties(profile: Profile) -> tuple[str, ...]:
    return tuple(profile.metrics.fields.values()) if profile.metrics.write else ()


def company_properties(profile: Profile) -> tuple[str, ...]:
    section = profile.hubspot
    assert section is not None
    mapped = section.properties
    metrics = metric_properties(profile) if profile.metrics_destination == "companies" else ()
    return _unique(
        (
            "name",
            OWNER,
            mapped.lifecycle,
            mapped.segment,
            mapped.region,
            mapped.tier,
            mapped.lock,
            *mapped.extra.values(),
            *metrics,
            "createdate",
            STAMP,
        )
    )


def deal_properties(profile: Profile) -> tuple[str, ...]:
    section = profile.hubspot
    assert section is not None
    return _unique(
        (
            OWNER,
            section.deal_type_property,
            "dealstage",
            "hs_is_closed",
            "hs_is_closed_won",
            "amount",
            "createdate",
            "closedate",
            STAMP,
        )
    )


def metric_value(key: str, raw: object) -> FieldValue:
    """A metric as the plan computes it, from the text HubSpot holds: the role as text,
    every other metric a number (None when blank), so equal values compare equal."""
    if raw is None or str(raw).strip() == "":
        return None
    if key == "role":
        return str(raw)
    try:
        return float(str(raw))
    except ValueError:
        return str(raw)


def metric_text(value: FieldValue) -> str:
    """What to send: numbers as text, None as "" (which clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def metric_values(profile: Profile, properties: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Destination property -> value, typed as the plan writes them."""
    return {
        dest: metric_value(key, properties.get(dest))
        for key, dest in profile.metrics.fields.items()
    }


def account_row(profile: Profile, record: Mapping[str, Any]) -> AccountRow:
    section = profile.hubspot
    assert section is not None
    mapped = section.properties
    p = record.get("properties") or {}
    fields: dict[str, FieldValue] = {name: p.get(prop) for name, prop in mapped.extra.items()}
    if profile.metrics.write and profile.metrics_destination == "companies":
        fields.update({METRIC_PREFIX + d: v for d, v in metric_values(profile, p).items()})
    return AccountRow(
        id=str(record["id"]),
        name=text(p, "name"),
        owner_id=text(p, OWNER) or None,
        lifecycle=text(p, mapped.lifecycle),
        segment=text(p, mapped.segment),
        region=text(p, mapped.region),
        tier=text(p, mapped.tier),
        locked=truthy(p.get(mapped.lock)) if mapped.lock else False,
        fields=fields,
        created=iso(p.get("createdate") or record.get("createdAt")),
        updated=iso(p.get(STAMP) or record.get("updatedAt")),
    )


def deal_row(profile: Profile, record: Mapping[str, Any], company_id: str | None) -> DealRow:
    section = profile.hubspot
    assert section is not None
    p = record.get("properties") or {}
    deal_id = str(record["id"])
    stage = text(p, "dealstage")
    closed = truthy(p["hs_is_closed"]) if p.get("hs_is_closed") else stage in _CLOSED_STAGES
    won = truthy(p["hs_is_closed_won"]) if p.get("hs_is_closed_won") else stage == "closedwon"
    kind = text(p, section.deal_type_property)
    return DealRow(
        id=deal_id,
        # A deal without a company stands alone: its own group for deal-kind inference.
        account_id=company_id or NO_ACCOUNT_PREFIX + deal_id,
        owner_id=text(p, OWNER) or None,
        kind=kind or None,
        stage=stage,
        closed=closed,
        won=won,
        amount=entry_amount(p.get("amount")),
        created=(iso(p.get("createdate") or record.get("createdAt")) or "")[:10],
        close_date=(iso(p.get("closedate")) or "")[:10] or None,
    )


CONTACT_PROPERTIES = (OWNER, "firstname", "lastname", "email", STAMP)
TASK_PROPERTIES = (OWNER, "hs_task_subject", "hs_task_status", "hs_timestamp", STAMP)
# The one stock task status that is not open (the others: NOT_STARTED, IN_PROGRESS,
# WAITING, DEFERRED).
TASK_DONE = "COMPLETED"


def contact_row(record: Mapping[str, Any], company_id: str | None) -> Row | None:
    """A contact with a company; None for one without (it follows no account)."""
    if company_id is None:
        return None
    p = record.get("properties") or {}
    return ContactRow(
        id=str(record["id"]),
        account_id=company_id,
        owner_id=text(p, OWNER) or None,
        name=f"{text(p, 'firstname')} {text(p, 'lastname')}".strip(),
        email=text(p, "email"),
    )


def task_row(record: Mapping[str, Any], company_id: str | None) -> Row | None:
    """An open task about a company; None for a completed one or one about no company."""
    p = record.get("properties") or {}
    if company_id is None or text(p, "hs_task_status").upper() == TASK_DONE:
        return None
    return TaskRow(
        id=str(record["id"]),
        account_id=company_id,
        owner_id=text(p, OWNER) or None,
        subject=text(p, "hs_task_subject"),
        closed=False,
        due=(iso(p.get("hs_timestamp")) or "")[:10] or None,
    )


def owner_row(
    owner: Mapping[str, Any],
    title: str,
    fields: Mapping[str, FieldValue],
    extra: Mapping[str, FieldValue] | None = None,
) -> OwnerRow:
    """An owner; archived ones (the person left) are inactive, so the planner and apply
    never give them accounts, whatever their `userId`: HubSpot's spec types it as an
    integer, its guides show null for a deactivated user. A non-archived owner without a
    user (a queue) is inactive too. `extra`: the owner properties the profile
    maps, read from the owner's users record."""
    first, last = text(owner, "firstName"), text(owner, "lastName")
    email = text(owner, "email")
    active = not owner.get("archived") and owner.get("userId") is not None
    return OwnerRow(
        id=str(owner["id"]),
        name=f"{first} {last}".strip() or email or str(owner["id"]),
        email=email,
        title=title,
        active=active,
        fields=dict(fields),
        extra=dict(extra or {}),
    )


# -- batch answers --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """A batch read or update answer: the records HubSpot returned, by id, and a result
    per id named in an error."""

    records: dict[str, Mapping[str, Any]]
    errors: dict[str, RecordResult]


def _ids_of(error: Mapping[str, Any]) -> list[str]:
    context = error.get("context") or {}
    ids = context.get("ids") or context.get("id") or []
    return [str(i) for i in ids] if isinstance(ids, list) else [str(ids)]


def classify_error(error: Mapping[str, Any]) -> RecordResult:
    category = str(error.get("category") or "")
    message = str(error.get("message") or "").strip()
    codes = {str(e.get("code")) for e in error.get("errors") or [] if isinstance(e, Mapping)}
    if category == "OBJECT_NOT_FOUND":
        return RecordResult(Outcome.FAILED, DELETED)
    if category in {"CONFLICT", "RATE_LIMITS", "LOCKED"}:
        return RecordResult(Outcome.RETRY, f"{category}: {message}")
    if "INVALID_OWNER_ID" in codes:
        return RecordResult(
            Outcome.FAILED,
            "HubSpot refused the target owner (archived or removed since the plan)",
        )
    return RecordResult(
        Outcome.FAILED, f"{category}: {message}" if category else message or "failed"
    )


def batch_answer(answer: Mapping[str, Any]) -> BatchAnswer:
    records = {
        str(r["id"]): r
        for r in answer.get("results") or []
        if isinstance(r, Mapping) and r.get("id")
    }
    errors: dict[str, RecordResult] = {}
    for error in answer.get("errors") or []:
        if isinstance(error, Mapping):
            result = classify_error(error)
            for record_id in _ids_of(error):
                errors.setdefault(record_id, result)
    return BatchAnswer(records, errors)


def write_results(answer: Mapping[str, Any], sent: Sequence[str]) -> dict[str, RecordResult]:
    """Per id sent: APPLIED if HubSpot returned the record, its error's result if one
    names it, else nothing (the caller counts it unknown and reads it back)."""
    parsed = batch_answer(answer)
    results: dict[str, RecordResult] = {}
    for record_id in sent:
        if record_id in parsed.records:
            results[record_id] = RecordResult(Outcome.APPLIED)
        elif record_id in parsed.errors:
            results[record_id] = parsed.errors[record_id]
    return results
