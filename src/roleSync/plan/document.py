"""The plan file: a Plan serialized, read back, and refused when it cannot be trusted.

`apply` reads plans that people may have edited. What a plan claims about the world is
re-checked against the world at apply time (sync.recheck); what a plan says about itself
must at least be consistent: no account moved twice, no owner's metrics written twice.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ConfigDict, TypeAdapter, ValidationError

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.json_text import pretty_json
from roleSync.plan.json_position import value_position
from roleSync.plan.types import (
    HandoffTask,
    MetricWrite,
    OwnerRole,
    OwnershipChange,
    RelatedChange,
    Skip,
    TaskFor,
)

# 2: metric writes carry the values they were planned from (`expected`, compare-and-set).
PLAN_FORMAT = 2
# What the run history may still hold: readable for reports, explain and finishing an
# interrupted run (a format-1 metric write expects blank fields, so against a CRM that
# holds values it is a conflict, never an overwrite). `rolesync apply` takes PLAN_FORMAT.
HISTORY_FORMATS = frozenset({1, PLAN_FORMAT})
# `rolesync apply` refuses a larger plan file before reading it (--max-plan-size). An
# ownership change takes about 310 bytes of plan: 256 MiB hold some 850,000 of them.
MAX_PLAN_BYTES = 256 * 1024 * 1024


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
    # Records that follow their account (routing.yaml `carry`). Absent from plans made
    # before carry existed, or without it: such plans read as carrying nothing, so the
    # format did not change.
    related_changes: list[RelatedChange] = field(default_factory=list)
    # Tasks to create for the new (or previous) owners (a handoff block's `tasks`);
    # absent, like related_changes, when there are none.
    task_creates: list[HandoffTask] = field(default_factory=list)

    def to_json(self) -> str:
        # pretty_json: what json.dumps(indent=2, sort_keys=True) writes, faster.
        data = _PLAN_ADAPTER.dump_python(self, mode="json")
        if not self.related_changes:  # plans without carry stay byte-identical to before
            del data["related_changes"]
        if not self.task_creates:
            del data["task_creates"]
        for skip in data["skipped"]:  # a skip without a route reads as before
            if not skip["route"]:
                del skip["route"]
        for owner in data["owners"]:  # nothing pending: the owner reads as before
            if owner["pending"] is None:
                del owner["pending"]
        return pretty_json(data) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, path: str, *, history: bool = False) -> Plan:
        """The plan in `text` (UTF-8 bytes or str); InputError, positioned, if it is not
        one, is of another format (`history`: any of HISTORY_FORMATS), or repeats or
        contradicts itself."""
        try:
            plan = _PLAN_ADAPTER.validate_json(text)
        except ValidationError as exc:
            raise _invalid(path, _as_text(text), exc, history) from None
        if plan.format not in (HISTORY_FORMATS if history else {PLAN_FORMAT}):
            raise _format_error(path, _as_text(text), plan.format)
        duplicates = duplicate_entries(plan)
        if duplicates:
            shown = _as_text(text)
            raise InputError([_duplicate_diagnostic(path, shown, d) for d in duplicates])
        return plan

    @classmethod
    def read(cls, path: Path, *, history: bool = False, max_bytes: int = MAX_PLAN_BYTES) -> Plan:
        """The plan file at `path`. A plan given to apply larger than `max_bytes` is
        refused before it is read; a run folder's own copy (`history`), accepted once
        already, is read whatever its size, so a big run can always be finished."""
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if not history and size > max_bytes:
                    raise _too_large(path, size, max_bytes)
                # Bounded even if the file grows after the check.
                data = handle.read() if history else handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(
                [
                    Diagnostic(
                        str(path),
                        0,
                        0,
                        Severity.ERROR,
                        f"cannot read plan: {exc.strerror or exc}",
                        "file-unreadable",
                    )
                ]
            ) from None
        if not history and len(data) > max_bytes:
            raise _too_large(path, len(data), max_bytes)
        # Bytes, not text: pydantic parses UTF-8 itself, so no decoded copy is made.
        return cls.from_json(data, str(path), history=history)


# NaN and Infinity are no JSON numbers: a plan holding one is refused when read, not
# when apply writes its copy (the crash the next run would repeat). The rest of the
# types as declared: "365" is no number of days, "yes" no boolean.
Plan.__pydantic_config__ = ConfigDict(allow_inf_nan=False, strict=True)  # type: ignore[attr-defined]
_PLAN_ADAPTER: TypeAdapter[Plan] = TypeAdapter(Plan)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Two entries of one plan about the same account or owner."""

    key: str  # the JSON key that repeats: "account_id" or "owner_id"
    value: str
    message: str
    # Which occurrence of `"key": value` in the file to point at: the second for a
    # repeat, the first for an entry that contradicts another (a record carried alone).
    occurrence: int = 1


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
    carried: set[tuple[str, str]] = set()
    for related in plan.related_changes:
        key = (related.object.value, related.record_id)
        if key in carried:
            found.append(
                Duplicate(
                    "record_id",
                    related.record_id,
                    f"{related.object.value} {related.record_id} is carried twice in this plan",
                )
            )
        carried.add(key)
        owning = moved.get(related.account_id)
        # A rollback sends each record back to its own owner before the run.
        rollback = owning is not None and owning.rule_id.startswith("rollback:")
        if owning is None or (owning.to_owner_id != related.to_owner_id and not rollback):
            # A carried record follows its account's change: without one (or to another
            # owner) it would move on its own, which no handoff asked for.
            found.append(
                Duplicate(
                    "record_id",
                    related.record_id,
                    f"{related.object.value} {related.record_id} is carried to "
                    f"{related.to_owner_id} but its account {related.account_id} is "
                    + ("not moved" if owning is None else f"moved to {owning.to_owner_id}")
                    + " in this plan",
                    occurrence=0,
                )
            )
    keys: set[str] = set()
    for task in plan.task_creates:
        if task.key in keys:
            found.append(
                Duplicate("key", task.key, f"task {task.key} is created twice in this plan")
            )
        keys.add(task.key)
        owning = moved.get(task.account_id)
        if owning is None:
            why = f"is for a handoff of account {task.account_id}, which this plan does not move"
        else:
            # A task goes to the new owner, or to the previous one: nobody else.
            meant = (
                owning.to_owner_id if task.for_owner is TaskFor.NEW_OWNER else owning.from_owner_id
            )
            if task.owner_id == meant:
                continue
            why = (
                f"is for the {task.for_owner.value.replace('_', ' ')} of account "
                f"{task.account_id}, {meant}, but assigned to {task.owner_id}"
            )
        found.append(Duplicate("key", task.key, f"task {task.key} {why}", occurrence=0))
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


def _as_text(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", errors="replace")


def _too_large(path: Path, size: int, limit: int) -> InputError:
    message = (
        f"plan is {size:,} bytes, above the limit of {limit:,} (--max-plan-size); "
        "nothing read, nothing written"
    )
    return InputError([Diagnostic(str(path), 0, 0, Severity.ERROR, message, "plan-too-large")])


_JSON_ERROR = re.compile(r"Invalid JSON: (?P<what>.*) at line (?P<line>\d+) column (?P<col>\d+)")


def _invalid(path: str, text: str, exc: ValidationError, history: bool) -> InputError:
    """One positioned line for the first reason `text` is not a plan."""
    errors = exc.errors(include_url=False)
    syntax = (
        _JSON_ERROR.fullmatch(errors[0]["msg"]) if errors[0]["type"] == "json_invalid" else None
    )
    if syntax is not None:
        what = syntax["what"]
        if "recursion limit" in what:
            what = "nested too deeply (recursion limit exceeded)"
        message = f"not a roleSync plan: invalid JSON: {what}"
        code = "plan-depth" if "recursion limit" in syntax["what"] else "invalid-plan"
        return InputError(
            [
                Diagnostic(
                    path, int(syntax["line"]), int(syntax["col"]), Severity.ERROR, message, code
                )
            ]
        )
    if errors[0]["type"] != "json_invalid":  # valid JSON: what format does it claim?
        old = _declared_format(text)
        if old is not None and old not in (HISTORY_FORMATS if history else {PLAN_FORMAT}):
            return _format_error(path, text, old)
    # A NaN in a union-typed field fails each member: the finite-number complaint says why.
    first = next((e for e in errors if e["type"] == "finite_number"), errors[0])
    loc = tuple(first["loc"])
    line, col, found = value_position(text, loc)
    where = ".".join(str(p) for p in (loc if first["type"] == "missing" else loc[:found]))
    reason = first["msg"]
    if first["type"] == "finite_number":
        reason += " (NaN and Infinity are not JSON numbers)"
    return InputError(
        [
            Diagnostic(
                path,
                line,
                col,
                Severity.ERROR,
                f"not a roleSync plan: {where}: {reason}",
                "invalid-plan",
            )
        ]
    )


def _declared_format(text: str) -> int | None:
    try:
        data = json.loads(text)  # parsed by pydantic already: not too deep to recurse
    except (ValueError, RecursionError):
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
    line, col = _position(text, needle, duplicate.occurrence)
    return Diagnostic(
        path, line, col, Severity.ERROR, duplicate.message + "; nothing written", "plan-duplicate"
    )
