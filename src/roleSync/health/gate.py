"""The book health gate: scan a book file, judge it, stop a run on errors.

Used by `rolesync check -c`, before every `plan` and `sync` (`sync.runner.make_plan`),
and by CSV import through `health_hook`, run on the import's own connection before it
commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from roleSync.adapters.local_store import book_failure, open_book, snapshot
from roleSync.errors import Diagnostic
from roleSync.health.census import AmountRange, CensusQuestions, take_census
from roleSync.health.evaluate import evaluate
from roleSync.health.findings import BookHealth, BookHealthError, Locator
from roleSync.model import DealKind
from roleSync.profile import Profile

CANONICAL_LIFECYCLES = ("customer", "prospect", "other")

HealthHook = Callable[[sqlite3.Connection, Locator | None], Sequence[Diagnostic]]


def stages_decide(profile: Profile) -> bool:
    """True when deal stages decide whether a deal is open, won or lost: a local book
    imported from CSV files without closed/won columns. CRMs send their own flags."""
    if profile.kind != "local":
        return False
    columns = profile.import_.deals
    # Typed optional on purpose: a report export has neither column, and the import
    # section then leaves them out (the import branch makes them optional).
    closed: str | None = columns.closed
    won: str | None = columns.won
    return closed is None or won is None


def questions(profile: Profile) -> CensusQuestions:
    bounds = profile.data_quality.amounts
    return CensusQuestions(
        mapped_kinds=[*profile.deal_kinds, *(kind.value for kind in DealKind)],
        mapped_lifecycles=[*profile.lifecycle, *CANONICAL_LIFECYCLES],
        mapped_stages=list(profile.stages) if stages_decide(profile) else None,
        amount_range=AmountRange(bounds.min, bounds.max),
        ids_case_sensitive=profile.data_quality.ids == "case_sensitive",
    )


def book_health(conn: sqlite3.Connection, profile: Profile) -> BookHealth:
    """The health of the book open on `conn`, read in the caller's transaction (if any)."""
    return evaluate(take_census(conn, questions(profile)), profile)


def health_hook(profile: Profile) -> HealthHook:
    """For CSV import: the findings (errors and warnings) of the book on the import's
    connection, before it commits; the importer rolls back if any is an error."""

    def check(conn: sqlite3.Connection, locate: Locator | None) -> Sequence[Diagnostic]:
        return book_health(conn, profile).diagnostics(profile, locate)

    return check


def book_file(profile: Profile) -> Path:
    """The SQLite file in the local-book format behind a profile: the book, or the mirror."""
    return profile.book_path if profile.kind == "local" else profile.mirror_path


def scan(profile: Profile, path: Path | None = None) -> BookHealth:
    """The health of the profile's book file (its mirror for a CRM profile), in one read
    transaction; not scanned when there is no such file yet."""
    path = path or book_file(profile)
    if not path.is_file():
        return BookHealth(scanned=False)
    conn = open_book(path, create=False)
    try:
        with snapshot(conn):
            return book_health(conn, profile)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        # A damaged page, or text that is not UTF-8 (garbled, or another program's).
        raise book_failure(path, "cannot read book", exc) from None
    finally:
        conn.close()


def gate(profile: Profile, path: Path | None = None) -> BookHealth:
    """`scan`, then BookHealthError (every finding, positioned) if any is an error."""
    health = scan(profile, path)
    if health.errors:
        raise BookHealthError(health, health.diagnostics(profile))
    return health
