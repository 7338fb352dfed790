"""Cell parsers of `rolesync import`, built from the profile: each returns the value to
store or raises CellError with the reason (and the finding's code).

Pure. Columns of few distinct values (booleans, dates, owners) are read through a Memo,
so each distinct text is parsed once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any

from roleSync.profile.formats import DateReader, date_reader
from roleSync.profile.sections import AmountFormat, ImportSection
from roleSync.rules.suggest import close_match

Parser = Callable[[str], Any]
_CACHE_LIMIT = 100_000  # distinct texts a Memo remembers; past it, the rest are parsed each time


class CellError(ValueError):
    """A cell that cannot be stored; `code` is the finding's code."""

    def __init__(self, message: str, code: str = "csv-invalid-value") -> None:
        super().__init__(message)
        self.code = code


class Memo(dict[str, Any]):
    """`parse` of each distinct cell, remembered: looking a cell up is then one C-level
    dict access. For columns of few distinct values (booleans, dates, owners); at most
    _CACHE_LIMIT are remembered, so memory stays bounded."""

    __slots__ = ("parse",)

    def __init__(self, parse: Parser) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, cell: str) -> Any:
        value = self.parse(cell)
        if len(self) < _CACHE_LIMIT:
            self[cell] = value
        return value


def blank() -> None:
    raise CellError("blank value; this field is required")


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def text(cell: str) -> str:
    return cell.strip()


def optional_text(cell: str) -> str | None:
    return cell.strip() or None


def required_text(cell: str) -> str:
    value = cell.strip()
    if not value:
        raise CellError("blank value; this field is required")
    return value


def boolean(default: bool) -> Parser:
    def parse(cell: str) -> int:
        value = cell.strip().casefold()
        if not value:
            return int(default)
        if value in _TRUE:
            return 1
        if value in _FALSE:
            return 0
        raise CellError(f"{cell.strip()!r} is not a boolean (true/false, yes/no, 1/0)")

    return parse


# Task statuses as CRMs write them (Salesforce Task.Status, HubSpot hs_task_status),
# compared in lower case with spaces and underscores as one space.
_OPEN_STATUSES = frozenset({"open", "not started", "in progress", "waiting", "deferred"})
_CLOSED_STATUSES = frozenset({"closed", "completed", "complete", "done"})


def task_closed(cell: str) -> int:
    """A task's closed flag: a boolean, or a status word. Blank = open."""
    value = " ".join(cell.replace("_", " ").split()).casefold()
    if not value or value in _FALSE or value in _OPEN_STATUSES:
        return 0
    if value in _TRUE or value in _CLOSED_STATUSES:
        return 1
    raise CellError(
        f"{cell.strip()!r} is not a task status (open, not started, in progress, waiting, "
        "deferred; closed, completed, done; or true/false, yes/no, 1/0)"
    )


def first_of(separator: str | None, parse: Parser) -> Parser:
    """The first of several values separated by `separator` (HubSpot's associated ids)."""
    if separator is None:
        return parse
    return lambda cell: parse(cell.split(separator, 1)[0])


class Dates:
    """Parsers for date and date-time cells in the profile's declared formats."""

    def __init__(self, section: ImportSection) -> None:
        self._read: DateReader = date_reader(section.date_formats)

    def _datetime(self, value: str) -> str:
        # Stored as UTC with an explicit offset, so every imported time compares with
        # every other: values without an offset are taken as UTC.
        parsed = self._read(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).isoformat()

    def _date(self, value: str) -> str:
        # A date-time keeps the calendar day it was written with: the day the CRM user saw.
        return self._read(value).date().isoformat()

    # Used through a Memo (one parse per distinct text): a date column repeats a few
    # hundred distinct days over millions of rows.
    def datetime(self) -> Parser:
        return self._optional(self._datetime)

    def date(self, *, required: bool) -> Parser:
        parse = self._optional(self._date)
        if not required:
            return parse

        def required_date(cell: str) -> str:
            value = parse(cell)
            if value is None:
                raise CellError("blank value; this field is required")
            return str(value)

        return required_date

    @staticmethod
    def _optional(parse: Parser) -> Parser:
        def optional(cell: str) -> str | None:
            value = cell.strip()
            if not value:
                return None
            try:
                return str(parse(value))
            except ValueError as exc:
                raise CellError(str(exc)) from None

        return optional


def amount_parser(fmt: AmountFormat) -> Parser:
    """Amounts as the profile says they are written; finite or refused."""
    digits = r"\d+"
    if fmt.thousands is not None:
        group = re.escape(fmt.thousands)
        digits = rf"(?:\d{{1,3}}(?:{group}\d{{3}})+|\d+)"
    marks = "|".join(re.escape(m) for m in sorted(fmt.currencies, key=len, reverse=True))
    currency = rf"(?:{marks})" if marks else "(?!)"
    pattern = re.compile(
        rf"(?P<sign>-)?\s*(?:(?P<before>{currency})\s*)?(?P<sign2>-)?"
        rf"(?P<whole>{digits})(?:{re.escape(fmt.decimal)}(?P<fraction>\d+))?"
        rf"(?:\s*(?P<after>{currency}))?",
        re.IGNORECASE,
    )
    shown = "digits" + (f", {fmt.thousands!r} between thousands" if fmt.thousands else "")
    shown += f" and {fmt.decimal!r} before decimals"
    if fmt.currencies:
        shown += ", with " + " or ".join(repr(m) for m in fmt.currencies)
    example = "1" + (fmt.thousands or "") + "234" + fmt.decimal + "50"

    plain_decimal = fmt.decimal == "."

    def parse(cell: str) -> float | None:
        value = cell.strip()
        if not value:
            return None
        if plain_decimal and value.replace(".", "", 1).isdigit() and value.isascii():
            # The common case, digits and at most one point: no regex needed. (isdigit
            # alone would let "²" or "١" through; isascii keeps to 0-9.)
            number = float(value)
            if number < math.inf:  # 400 digits read as inf
                return number
            raise CellError(f"{value!r} is not a finite amount")
        match = pattern.fullmatch(value)
        if (
            match is None
            or (match["sign"] and match["sign2"])
            or (match["before"] and match["after"])
        ):
            raise CellError(
                f"{value!r} is not an amount in the profile's format ({shown}, e.g. {example})"
            )
        whole = match["whole"].replace(fmt.thousands, "") if fmt.thousands else match["whole"]
        number = float(f"{whole}.{match['fraction'] or 0}")
        if not math.isfinite(number):
            raise CellError(f"{value!r} is not a finite amount")
        return -number if match["sign"] or match["sign2"] else number

    return parse


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


class OwnerIndex:
    """Owners by email and by full name, matched ignoring case and extra spaces."""

    def __init__(self, owners: Iterable[tuple[str, str, str]]) -> None:
        self.by_email: dict[str, set[str]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.names: dict[str, str] = {}  # key -> a name as written, for did-you-mean
        for owner_id, name, email in owners:
            if email.strip():
                self.by_email.setdefault(_key(email), set()).add(owner_id)
            if name.strip():
                self.by_name.setdefault(_key(name), set()).add(owner_id)
                self.names.setdefault(_key(name), " ".join(name.split()))

    def parser(self, by: str) -> Parser:
        """id: the cell as is; email or name: the id of the one owner it names."""
        if by == "id":
            return optional_text
        table = self.by_email if by == "email" else self.by_name
        known: dict[str, str] = {}
        refused: dict[str, CellError] = {}

        def parse(cell: str) -> str | None:
            key = _key(cell)
            if not key:
                return None
            found = known.get(key)
            if found is not None:
                return found
            error = refused.get(key)
            if error is None:
                ids = table.get(key)
                if ids is not None and len(ids) == 1:
                    (known[key],) = ids
                    return known[key]
                error = self._refusal(cell.strip(), key, by, ids)
                if len(refused) < _CACHE_LIMIT:
                    refused[key] = error
            raise error

        return parse

    def _refusal(self, shown: str, key: str, by: str, ids: set[str] | None) -> CellError:
        noun = "an email" if by == "email" else "a full name"
        if ids:
            return CellError(
                f"{len(ids)} owners have {noun} {shown!r} ({', '.join(sorted(ids))}): "
                "reference owners by email or id",
                "import-owner-ambiguous",
            )
        options = self.names if by == "name" else {k: k for k in self.by_email}
        match = close_match(key, options)
        hint = f"; did you mean {options[match]!r}?" if match else ""
        return CellError(
            f"no owner has {noun} {shown!r} (in the owners file or the book){hint}",
            "import-owner-unknown",
        )
