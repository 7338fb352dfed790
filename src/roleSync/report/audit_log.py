"""`rolesync audit SUBJECT`: the audit log of one account, one owner or one run.

Which SUBJECT is, in this order (the first step that finds something decides):
1. `latest`, or the id of a run of the profile: that run's rows;
2. an account id or an owner id found in the profile's audit log (exact);
3. an owner's email, then an owner's name (case-insensitive), as the profile's last
   sync or apply recorded its owners.
Two matches in one step (an id that is both an account's and an owner's, two owners of
one name) are ambiguous: the error lists them, and `--kind` or an id settles it. Pure:
the caller reads the store and passes the rows in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from roleSync.errors import ConfigError
from roleSync.plan import OwnerRole
from roleSync.rules.suggest import did_you_mean
from roleSync.sync.store import AuditRow, RunRow
from roleSync.sync.store_related import RelatedRow
from roleSync.terminal_text import printable

KINDS = ("run", "account", "owner")
REASON_WIDTH = 60
HEAD = ("WHEN", "RUN", "ACCOUNT", "FROM -> TO", "RULE", "RESULT", "REASON")


class SubjectError(ConfigError):
    """No such subject in the audit log, or more than one (exit 1)."""


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # run | account | owner
    key: str  # the run's, account's or owner's id
    label: str  # how a person reads it


@dataclass(frozen=True, slots=True)
class AuditLog:
    """What the resolver and the selection read: the profile's history."""

    profile: str
    runs: Sequence[RunRow]  # newest first
    rows: Sequence[AuditRow]  # oldest first
    related: Sequence[RelatedRow]
    owners: Mapping[str, OwnerRole]  # as the last sync or apply recorded them


def _owner_label(log: AuditLog, owner_id: str) -> str:
    owner = log.owners.get(owner_id)
    return f"owner {owner_id} ({owner.name} <{owner.email}>)" if owner else f"owner {owner_id}"


def _account_label(log: AuditLog, account_id: str) -> str:
    names = [r.account_name for r in log.rows if r.account_id == account_id and r.account_name]
    return f'account {account_id} "{names[-1]}"' if names else f"account {account_id}"


def resolve(log: AuditLog, text: str, kind: str | None = None) -> Subject:
    """The subject `text` names (see the module's order); SubjectError if none or several."""
    if kind in (None, "run"):
        if text == "latest" and log.runs:
            run = log.runs[0]
            return Subject("run", run.id, f"run {run.id} ({run.mode})")
        for run in log.runs:
            if run.id == text:
                return Subject("run", run.id, f"run {run.id} ({run.mode})")
    accounts = {r.account_id for r in log.rows} | {r.account_id for r in log.related}
    owners = {o for r in log.rows for o in (r.from_owner, r.to_owner) if o} | set(log.owners)
    steps: list[list[Subject]] = []
    exact: list[Subject] = []
    if kind in (None, "account") and text in accounts:
        exact.append(Subject("account", text, _account_label(log, text)))
    if kind in (None, "owner") and text in owners:
        exact.append(Subject("owner", text, _owner_label(log, text)))
    steps.append(exact)
    if kind in (None, "owner"):
        folded = text.casefold()
        listed = sorted(log.owners.values(), key=lambda o: o.owner_id)
        for attribute in ("email", "name"):
            steps.append(
                [
                    Subject("owner", o.owner_id, _owner_label(log, o.owner_id))
                    for o in listed
                    if getattr(o, attribute).casefold() == folded
                ]
            )
    for found in steps:
        if len(found) == 1:
            return found[0]
        if found:
            shown = "; ".join(s.label for s in found)
            raise SubjectError(
                printable(
                    f"{text!r} is ambiguous in the audit log of profile {log.profile}: {shown}; "
                    "give an id, or --kind account|owner|run"
                )
            )
    options = [r.id for r in log.runs] + sorted(accounts | owners)
    options += [o.email for o in log.owners.values()] + [o.name for o in log.owners.values()]
    what = {"run": "a run", "account": "an account", "owner": "an owner"}.get(
        kind or "", "a run, account or owner"
    )
    raise SubjectError(
        printable(
            f"{text!r} is not {what} in the audit log of profile {log.profile}"
            + did_you_mean(text, options)
        )
    )


def select(log: AuditLog, subject: Subject) -> list[AuditRow]:
    """The subject's rows, newest first."""
    if subject.kind == "run":
        found = [r for r in log.rows if r.run_id == subject.key]
    elif subject.kind == "account":
        found = [r for r in log.rows if r.account_id == subject.key]
    else:
        found = [r for r in log.rows if subject.key in (r.from_owner, r.to_owner)]
    return sorted(found, key=lambda r: r.seq, reverse=True)


def followers(log: AuditLog, row: AuditRow) -> list[RelatedRow]:
    """The records carried with the account in that run, and its handoff tasks."""
    return [r for r in log.related if r.run_id == row.run_id and r.account_id == row.account_id]


def _related_json(row: RelatedRow) -> dict[str, object]:
    return {
        "object": row.object,
        "record_id": row.record_id,
        "from": row.from_owner,
        "to": row.to_owner,
        "result": row.result,
        "reason": row.reason,
        "found": row.found_owner,
        "error": row.error,
        "at": row.at,
    }


def as_json(log: AuditLog, subject: Subject, rows: Sequence[AuditRow], total: int) -> object:
    modes = {r.id: r.mode for r in log.runs}
    return {
        "profile": log.profile,
        "subject": {"kind": subject.kind, "id": subject.key, "label": subject.label},
        "total": total,
        "shown": len(rows),
        "rows": [
            {
                "at": r.at,
                "run_id": r.run_id,
                "mode": modes.get(r.run_id, ""),
                "account_id": r.account_id,
                "account_name": r.account_name,
                "from": r.from_owner,
                "to": r.to_owner,
                "rule_id": r.rule_id,
                "reason": r.reason,
                "result": r.result,
                "found": r.found_owner,
                "error": r.error,
                "rules_digest": r.rules_digest,
                "related": [_related_json(f) for f in followers(log, r)],
            }
            for r in rows
        ],
    }


def _cut(text: str, width: int) -> str:
    text = " ".join(printable(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def as_text(log: AuditLog, subject: Subject, rows: Sequence[AuditRow], total: int) -> str:
    """A plain table, newest first, each account's carried records and tasks under it."""
    head = f"audit of {subject.label}, profile {log.profile}: {total} rows"
    if len(rows) < total:
        head += f", the newest {len(rows)} shown (--limit)"
    if not rows:
        return head
    cells = [
        (
            *(printable(c) for c in (r.at, r.run_id, r.account_id)),
            printable(f"{r.from_owner or '-'} -> {r.to_owner}"),
            printable(r.rule_id),
            printable(r.result),
            _cut(r.error or r.reason, REASON_WIDTH),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (HEAD, *cells)) for i in range(len(HEAD))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    lines = [head, line(HEAD)]
    for row, cell in zip(rows, cells, strict=True):
        lines.append(line(cell))
        for f in followers(log, row):
            moved = f"{f.from_owner or '-'} -> {f.to_owner}"
            lines.append(
                printable(f"    {f.object} {f.record_id}: {moved}: {f.result}")
                + (f" ({_cut(f.error, REASON_WIDTH)})" if f.error else "")
            )
    return "\n".join(lines)
