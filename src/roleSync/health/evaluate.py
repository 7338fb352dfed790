"""Judging a book census against the profile: pure, a census and a profile in, findings out.

Each check of the profile's `data_quality` section looks at some rows (deals, accounts,
...). When the rows it finds exceed its tolerance it fires at its severity; otherwise
what it found is recorded as tolerated. Unmapped values give one finding per value (its
count, the profile key to add it under and a did-you-mean against the mapped values);
the tolerance applies to all of a check's rows together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from roleSync.errors import Severity
from roleSync.health.census import Affected, BookCensus, ValueCount
from roleSync.health.findings import BookHealth, Finding, Tolerated
from roleSync.model import DealKind
from roleSync.profile import Profile
from roleSync.profile.data_quality import CHECKS
from roleSync.rules.suggest import close_match

KIND_CHOICES = " | ".join(kind.value for kind in DealKind)


@dataclass(frozen=True, slots=True)
class _Draft:
    """A finding before its check's policy gives it a severity."""

    count: int
    rows: str
    examples: tuple[str, ...]
    message: str
    profile_key: tuple[str, ...]


def _quoted(value: str) -> str:
    # The key as a user writes it in YAML: quoted when it is more than a plain word.
    plain = value.replace("_", "").replace("-", "").isalnum()
    return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _suggestion(value: str, mapped: Iterable[str]) -> str:
    match = close_match(value, list(mapped))
    return f"; did you mean {match!r}?" if match else ""


def _unmapped(
    values: Sequence[ValueCount],
    *,
    section: str,
    what: str,
    rows: str,
    choices: str,
    mapped: Iterable[str],
    replaces_default: bool,
) -> Iterator[_Draft]:
    mapped = list(mapped)
    note = (
        f" (the profile has no {section} section yet: one written replaces the stock "
        "mapping, so copy the values you need from the example profiles)"
        if replaces_default
        else ""
    )
    for item in values:
        key = f"{section}.{_quoted(item.value)}"
        yield _Draft(
            item.count,
            rows,
            item.examples,
            f"{what} {item.value!r} on {item.count} {rows} is not mapped: add {key}: "
            f"<{choices}>{_suggestion(item.value, mapped)}{note}",
            (section,),
        )


def _drafts(census: BookCensus, profile: Profile, check: str) -> list[_Draft]:
    """What `check` found in the census, before its policy is applied."""
    quality = ("data_quality", check)
    bounds = census.amount_range
    if check == "unmapped_deal_kind":
        values = [v for v in census.unmapped_kinds if profile.deal_kind(v.value) is None]
        return list(
            _unmapped(
                values,
                section="deal_kinds",
                what="deal type",
                rows="deals",
                choices=KIND_CHOICES,
                mapped=profile.deal_kinds,
                replaces_default=not profile.has_key(("deal_kinds",)),
            )
        )
    if check == "unmapped_stage":
        stages = census.unmapped_stages or ()
        values = [v for v in stages if profile.stage_outcome(v.value) is None]
        return list(
            _unmapped(
                values,
                section="stages",
                what="deal stage",
                rows="deals",
                choices="open | won | lost",
                mapped=profile.stages,
                replaces_default=not profile.has_key(("stages",)),
            )
        )
    if check == "unmapped_lifecycle":
        values = [v for v in census.unmapped_lifecycles if not profile.maps_lifecycle(v.value)]
        return list(
            _unmapped(
                values,
                section="lifecycle",
                what="lifecycle value",
                rows="accounts",
                choices="customer | prospect | other",
                mapped=profile.lifecycle,
                replaces_default=not profile.has_key(("lifecycle",)),
            )
        )
    if check == "unknown_owner":
        return [
            *_one(
                census.deal_unknown_owner,
                "deals",
                "deals name an owner the book does not have",
                quality,
            ),
            *_one(
                census.account_unknown_owner,
                "accounts",
                "accounts name an owner the book does not have",
                quality,
            ),
            *_one(
                census.contact_unknown_owner,
                "contacts",
                "contacts name an owner the book does not have",
                quality,
            ),
            *_one(
                census.task_unknown_owner,
                "tasks",
                "tasks name an owner the book does not have",
                quality,
            ),
        ]
    if check == "negative_amount":
        return _one(
            census.below_min,
            "deals",
            f"deals have an amount below amounts.min ({bounds.low:g})",
            ("data_quality", "amounts", "min"),
        )
    if check == "absurd_amount":
        return [
            *_one(
                census.above_max,
                "deals",
                f"deals have an amount above amounts.max ({bounds.high:g}); sums of such "
                "amounts would not be finite",
                ("data_quality", "amounts", "max"),
            ),
            *_one(
                census.not_a_number, "deals", "deals have an amount that is not a number", quality
            ),
        ]
    if check == "duplicate_id":
        return [
            _Draft(
                c.count,
                c.table,
                c.ids,
                f"{c.count} ids of {c.table} are the same once case and spaces are ignored "
                f"({c.normal!r})",
                quality,
            )
            for c in census.collisions
        ]
    if check == "unknown_account":
        return [
            *_one(
                census.unknown_account,
                "deals",
                "deals point at an account the book does not have",
                quality,
            ),
            *_one(
                census.contact_unknown_account,
                "contacts",
                "contacts point at an account the book does not have",
                quality,
            ),
            *_one(
                census.task_unknown_account,
                "tasks",
                "tasks point at an account the book does not have",
                quality,
            ),
        ]
    if check == "missing_amount":
        message = "won deals have no amount: they count as won and add nothing to any amount"
        return _one(census.missing_amount, "deals", message, quality)
    if check == "missing_close_date":
        message = "closed deals have no close date: they count in no metrics window"
        return _one(census.missing_close_date, "deals", message, quality)
    raise ValueError(f"unknown book health check {check!r}")


def _one(affected: Affected, rows: str, message: str, key: tuple[str, ...]) -> list[_Draft]:
    if not affected.count:
        return []
    return [_Draft(affected.count, rows, affected.examples, f"{affected.count} {message}", key)]


def _looked_at(census: BookCensus, check: str) -> int:
    """How many rows a check looks at: what a max_share is a share of."""
    if check == "unmapped_lifecycle":
        return census.accounts
    if check == "unknown_owner":
        return census.accounts + census.deals + census.contacts + census.tasks
    if check == "unknown_account":
        return census.deals + census.contacts + census.tasks
    if check == "missing_amount":
        return census.won_deals
    if check == "missing_close_date":
        return census.closed_deals
    if check == "duplicate_id":
        return census.owners + census.accounts + census.deals
    return census.deals


def evaluate(census: BookCensus, profile: Profile) -> BookHealth:
    """The findings of a census under the profile's mappings and data_quality policies."""
    findings: list[Finding] = []
    tolerated: list[Tolerated] = []
    quality = profile.data_quality
    for check in CHECKS:
        drafts = _drafts(census, profile, check)
        affected = sum(d.count for d in drafts)
        if not affected:
            continue
        policy = quality.policy(check)
        if policy.severity == "ignore":
            continue
        if not policy.fires(affected, _looked_at(census, check)):
            tolerated.append(Tolerated(check, affected))
            continue
        severity = Severity.ERROR if policy.severity == "error" else Severity.WARNING
        code = check.replace("_", "-")
        findings.extend(
            Finding(check, code, severity, d.count, d.rows, d.examples, d.message, d.profile_key)
            for d in drafts
        )
    return BookHealth(
        owners=census.owners,
        accounts=census.accounts,
        deals=census.deals,
        findings=tuple(findings),
        tolerated=tuple(tolerated),
    )
