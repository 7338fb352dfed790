"""Out-of-office windows: who is away on the plan's day, and when they are back.

Windows come from two places, both plain values by the time a plan is made:

- routing.yaml `availability`: `{owner, from, until, reason}` entries (rules.schema);
- the CRM: two owner fields (`Owner.fields`, mapped by the connector profile) holding a
  window's first and last day, named by the profile's `availability` section.

Both days are included: an owner away `from: 2026-07-01, until: 2026-07-21` receives
nothing on the 1st or the 21st, and is in the rotation again on the 22nd. A route passes
over an away member (`when_unavailable: skip`) or holds the handoff until they are back
(`wait`, see FarmerPicker in routing.py). A CRM value that is not a date is reported by
`field_problems` and read as no window: never a crash, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from roleSync.model import Book, FieldValue, Owner
from roleSync.rules.availability_schema import Away


@dataclass(frozen=True, slots=True)
class Window:
    """One owner away from `start` to `until`, both days included."""

    owner_id: str
    start: date
    until: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.until

    @property
    def back_on(self) -> date:
        """The first day they receive handoffs again (the day after `until`)."""
        return self.until if self.until == date.max else self.until + timedelta(days=1)

    def describe(self) -> str:
        """The refusal shown in plans and `explain`: "away until 2026-07-21 (parental leave)"."""
        why = f" ({self.reason})" if self.reason else ""
        return f"away until {self.until.isoformat()}{why}"


@dataclass(frozen=True, slots=True)
class WindowFields:
    """The owner fields (keys of `Owner.fields`) holding an away window, from the
    connector profile's `availability` section."""

    from_field: str
    until_field: str
    reason_field: str | None = None


def day_of(value: FieldValue | date) -> date | None:
    """A CRM value as a day: None when blank, ValueError when it is no ISO date. A
    date-time (Salesforce DateTime, HubSpot datetime) counts by its date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _owner_window(owner: Owner, fields: WindowFields) -> tuple[Window | None, str | None]:
    """The owner's window from their fields, or why none could be read."""
    who = owner.email or owner.id
    try:
        start = day_of(owner.fields.get(fields.from_field))
        until = day_of(owner.fields.get(fields.until_field))
    except ValueError as exc:
        return None, f"owner {who}: {exc}; no away window read for them"
    if start is None and until is None:
        return None, None
    if start is None or until is None:
        blank = fields.from_field if start is None else fields.until_field
        return None, f"owner {who}: {blank} is blank; no away window read for them"
    if until < start:
        return None, (
            f"owner {who}: the away window ends ({until}) before it starts ({start}); "
            "no away window read for them"
        )
    reason = owner.fields.get(fields.reason_field) if fields.reason_field else None
    return Window(owner.id, start, until, str(reason).strip() if reason is not None else ""), None


def field_windows(owners: Iterable[Owner], fields: WindowFields) -> list[Window]:
    """Windows from the owners' mapped CRM fields (values that are no window: none)."""
    found = (_owner_window(owner, fields)[0] for owner in owners)
    return [window for window in found if window is not None]


def field_problems(owners: Iterable[Owner], fields: WindowFields) -> list[str]:
    """One line per owner whose fields hold something that is no window: a value that
    is not a date, one day without the other, a window ending before it starts."""
    found = (_owner_window(owner, fields)[1] for owner in owners)
    return [problem for problem in found if problem is not None]


def rule_windows(book: Book, entries: Sequence[Away]) -> list[Window]:
    """The routing file's windows of the book's owners (`check -c` reports the others)."""
    windows = []
    for entry in entries:
        owner = book.find_owner(entry.owner)
        if owner is not None:
            windows.append(Window(owner.id, entry.start, entry.until, entry.reason or ""))
    return windows


def away_on(windows: Iterable[Window], day: date) -> dict[str, Window]:
    """Owner id -> the window they are away in on `day`. Windows that follow on without
    a working day between (leave, then a holiday: one from the rules, one from the CRM)
    are one absence: its `until` is the last one's, so a handoff waits for the real return."""
    mine: dict[str, list[Window]] = {}
    for window in windows:
        mine.setdefault(window.owner_id, []).append(window)
    away: dict[str, Window] = {}
    for owner_id, theirs in mine.items():
        covering = [w for w in theirs if w.covers(day)]
        if not covering:
            continue
        current = max(covering, key=lambda w: (w.until, w.reason))
        later = sorted((w for w in theirs if w.until > current.until), key=lambda w: w.start)
        for window in later:
            if window.start > current.back_on:
                break
            current = Window(owner_id, current.start, window.until, current.reason)
        away[owner_id] = current
    return away


def away_owners(
    book: Book, entries: Sequence[Away], fields: WindowFields | None, day: date
) -> dict[str, Window]:
    """Who is away on `day`, from the routing file's `availability` and the CRM fields."""
    windows = rule_windows(book, entries)
    if fields is not None:
        windows += field_windows(book.owners.values(), fields)
    return away_on(windows, day)


def waiting_reason(owner: Owner, window: Window, turn: str) -> str:
    """Why a `when_unavailable: wait` route holds the handoff."""
    return (
        f"{turn} is {owner.name or owner.email}'s, {window.describe()}: the handoff waits "
        f"for their return on {window.back_on.isoformat()} (when_unavailable: wait)"
    )
