"""The plan file: a Plan serialized, read back, and refused when it cannot be trusted.

`apply` reads plans that people may have edited. What a plan claims about the world is
re-checked against the world at apply time (sync.recheck); what a plan says about itself
must at least be consistent: no account moved twice, no owner's metrics written twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.json_text import pretty_json
from roleSync.plan.types import MetricWrite, OwnerRole, OwnershipChange, Skip

# 2: metric writes carry the values they were planned from (`expected`, compare-and-set).
PLAN_FORMAT = 2
# What the run history may still hold: readable for reports, explain and finishing an
# interrupted run (a format-1 metric write expects blank fields, so against a CRM that
# holds values it is a conflict, never an overwrite). `rolesync apply` takes PLAN_FORMAT.
HISTORY_FORMATS = frozenset({1, PLAN_FORMAT})


@dataclass(frozen=True, slots=True)
class Plan:
    format: int
    profile: str
    as_of: date
    window_days: int
    rules_digest: str
    owners: list[OwnerRole]
    changes: list[OwnershipChange]
    metric_writes: list[MetricWrite]
    skipped: list[Skip]
    # Route id -> last owner picked, after this plan: the next run continues from here.
    rotation: dict[str, str] = field(default_factory=dict)
    # Counts for people: accounts looked at, already with a farmer, not yet won, ...
    # Never trusted by apply: the book size for max_share is counted from the book.
    summary: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        # pretty_json: what json.dumps(indent=2, sort_keys=True) writes, faster.
        return pretty_json(_PLAN_ADAPTER.dump_python(self, mode="json")) + "\n"

    @classmethod
    def from_json(cls, text: str, path: str, *, history: bool = False) -> Plan:
        """The plan in `text`; InputError, positioned, if it is not one, is of another
        format (`history`: any of HISTORY_FORMATS), or repeats or contradicts itself."""
        try:
            plan = _PLAN_ADAPTER.validate_json(text)
        except ValidationError as exc:
            old = _declared_format(text)
            if old is not None and old not in (HISTORY_FORMATS if history else {PLAN_FORMAT}):
                raise _format_error(path, text, old) from None
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(
                [
                    Diagnostic(
                        path,
                        1,
                        1,
                        Severity.ERROR,
                        f"not a roleSync plan: {where}: {first['msg']}",
                        "invalid-plan",
                    )
                ]
            ) from None
        if plan.format not in (HISTORY_FORMATS if history else {PLAN_FORMAT}):
            raise _format_error(path, text, plan.format)
        duplicates = duplicate_entries(plan)
        if duplicates:
            raise InputError([_duplicate_diagnostic(path, text, d) for d in duplicates])
        return plan

    @classmethod
    def read(cls, path: Path, *, history: bool = False) -> Plan:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                [
                    Diagnostic(
                        str(path),
                        0,
                        0,
                        Severity.ERROR,
                        f"cannot read plan: {exc}",
                        "file-unreadable",
                    )
                ]
            ) from None
        return cls.from_json(text, str(path), history=history)


_PLAN_ADAPTER: TypeAdapter[Plan] = TypeAdapter(Plan)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Two entries of one plan about the same account or owner."""

    key: str  # the JSON key that repeats: "account_id" or "owner_id"
    value: str
    message: str


def duplicate_entries(plan: Plan) -> list[Duplicate]:
    """Entries that contradict or repeat each other: an account changed twice (to the
    same owner or to two), an owner's metrics written twice. Pure."""
    found: list[Duplicate] = []
    moved: dict[str, OwnershipChange] = {}
    for change in plan.changes:
        first = moved.get(change.account_id)
        if first is None:  # by key, not identity: a plan built in memory may repeat one
            moved[change.account_id] = change
            continue
        if first.to_owner_id != change.to_owner_id:
            why = f"moved to two owners ({first.to_owner_id} and {change.to_owner_id})"
        else:
            why = "changed twice"
        found.append(
            Duplicate(
                "account_id",
                change.account_id,
                f"account {change.account_id} is {why} in this plan",
            )
        )
    written: set[str] = set()
    for write in plan.metric_writes:
        if write.owner_id in written:
            found.append(
                Duplicate(
                    "owner_id",
                    write.owner_id,
                    f"the metrics of owner {write.owner_id} are written twice in this plan",
                )
            )
        written.add(write.owner_id)
    return found


def _declared_format(text: str) -> int | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    value = data.get("format") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _position(text: str, needle: str, occurrence: int) -> tuple[int, int]:
    """Line and column (1-based) of the `occurrence`-th (0-based) `needle`, else 1:1."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.find(needle, at + 1)
        if at < 0:
            return 1, 1
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def key_position(text: str, key: str) -> tuple[int, int]:
    """Line and column of a top-level key of a plan file (1:1 when absent)."""
    return _position(text, f'"{key}"', 0)


def _format_error(path: str, text: str, found: int) -> InputError:
    line, col = _position(text, '"format"', 0)
    return InputError(
        [
            Diagnostic(
                path,
                line,
                col,
                Severity.ERROR,
                f"plan format {found} is not supported (this roleSync reads format "
                f"{PLAN_FORMAT}); make the plan again with `rolesync plan`",
                "plan-format",
            )
        ]
    )


def _duplicate_diagnostic(path: str, text: str, duplicate: Duplicate) -> Diagnostic:
    # The repeated entry: the second occurrence of its key and value in the file
    # (keys are sorted: `changes` and `metric_writes` come before `owners` and `skipped`).
    needle = f'"{duplicate.key}": {json.dumps(duplicate.value)}'
    line, col = _position(text, needle, 1)
    return Diagnostic(
        path, line, col, Severity.ERROR, duplicate.message + "; nothing written", "plan-duplicate"
    )
