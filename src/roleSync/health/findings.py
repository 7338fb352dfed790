"""Book health findings, the health of a book as a whole, and how both are shown.

A finding is one problem of the data (an unmapped value, deals pointing at an unknown
account, ...): its severity from the profile's `data_quality` section, how many rows it
affects, a few of their ids, and the profile key the user edits to fix or tolerate it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.profile import Profile

# The record field each check is about, by the import section's names (import.deals.kind,
# ...): where a finding's first example sits in a CSV file being imported.
FIELD_OF_CHECK = {
    "unmapped_deal_kind": "kind",
    "unmapped_stage": "stage",
    "unmapped_lifecycle": "lifecycle",
    "unknown_account": "account",
    "unknown_owner": "owner",
    "missing_amount": "amount",
    "missing_close_date": "close_date",
    "negative_amount": "amount",
    "absurd_amount": "amount",
    "duplicate_id": "id",
}


class Locator(Protocol):
    """Where a record's field is in the files being imported: (path, line, column), or
    None when the record is not in them (it was in the book before)."""

    def __call__(self, rows: str, field: str, record_id: str) -> tuple[str, int, int] | None: ...


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # the data_quality key, e.g. "unmapped_deal_kind"
    code: str  # the diagnostic code, e.g. "unmapped-deal-kind"
    severity: Severity
    count: int  # rows affected
    rows: str  # what the rows are: "deals", "accounts", "owners", "contacts", "tasks"
    examples: tuple[str, ...]
    message: str
    # Where in the profile the fix goes: the mapping to add a value to, or the check's
    # own data_quality entry.
    profile_key: tuple[str, ...]

    def diagnostic(self, profile: Profile, locate: Locator | None = None) -> Diagnostic:
        """Positioned at the profile key to edit; with `locate` (a CSV import), at the
        first example's row and column in the file, naming the profile key's place."""
        line, col = profile.key_position(self.profile_key)
        shown = ", ".join(self.examples)
        more = f" (e.g. {shown})" if shown else ""
        found = self._in_files(locate) if locate is not None else None
        if found is None:
            return Diagnostic(
                profile.source_path, line, col, self.severity, self.message + more, self.code
            )
        path, row, column = found
        where = f"; the profile key is at {profile.source_path}:{line}:{col}"
        return Diagnostic(path, row, column, self.severity, self.message + more + where, self.code)

    def _in_files(self, locate: Locator) -> tuple[str, int, int] | None:
        field = FIELD_OF_CHECK.get(self.check)
        if field is None or self.rows not in ("owners", "accounts", "deals", "contacts", "tasks"):
            return None
        for record_id in self.examples:
            found = locate(self.rows, field, record_id)
            if found is not None:
                return found
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "code": self.code,
            "severity": str(self.severity),
            "count": self.count,
            "rows": self.rows,
            "examples": list(self.examples),
            "message": self.message,
            "profile_key": ".".join(self.profile_key),
        }


@dataclass(frozen=True, slots=True)
class Tolerated:
    """A check that found rows, but no more than its tolerance: recorded, not shown."""

    check: str
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "count": self.count}


@dataclass(frozen=True, slots=True)
class BookHealth:
    owners: int = 0
    accounts: int = 0
    deals: int = 0
    findings: tuple[Finding, ...] = ()
    tolerated: tuple[Tolerated, ...] = ()
    # False when there was no book to scan (an adapter that keeps no book file).
    scanned: bool = True

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def diagnostics(self, profile: Profile, locate: Locator | None = None) -> list[Diagnostic]:
        return [f.diagnostic(profile, locate) for f in self.findings]

    def as_json(self) -> dict[str, Any]:
        """The run report's `book_health` section."""
        return {
            "scanned": self.scanned,
            "owners": self.owners,
            "accounts": self.accounts,
            "deals": self.deals,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_json() for f in self.findings],
            "tolerated": [t.as_json() for t in self.tolerated],
        }


class BookHealthError(InputError):
    """Book health found errors above their thresholds: nothing may be planned or written.
    Carries every finding (warnings too), each one positioned at its profile key."""

    def __init__(self, health: BookHealth, diagnostics: Sequence[Diagnostic]) -> None:
        self.health = health
        super().__init__(diagnostics)
