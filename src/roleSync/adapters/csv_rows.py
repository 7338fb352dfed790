"""CSV files read as a stream of positioned records, and the findings about one file.

Nothing here holds a whole file: records are yielded one by one with the physical line
they start on, so a 4-million-row export costs the memory of one row.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from roleSync.errors import Diagnostic, Severity

# Findings of one code kept per file; the rest are counted on one closing line. Nobody
# reads a million "unknown owner" lines, and holding them would make memory grow with
# the file.
MAX_PER_CODE = 200


class Problems:
    """The findings about one file, each positioned `file:LINE:COL`."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.items: list[Diagnostic] = []
        self._counts: dict[str, int] = {}
        self._first_dropped: dict[str, tuple[int, int]] = {}

    def add(
        self, line: int, col: int, message: str, code: str, severity: Severity = Severity.ERROR
    ) -> None:
        count = self._counts.get(code, 0) + 1
        self._counts[code] = count
        if count <= MAX_PER_CODE:
            self.items.append(Diagnostic(self.display, line, col, severity, message, code))
        else:
            self._first_dropped.setdefault(code, (line, col))

    def take(self, other: Problems) -> None:
        """The findings of `other`: a copy of these that went on in another process."""
        self.items, self._counts = other.items, other._counts
        self._first_dropped = other._first_dropped

    @property
    def errors(self) -> int:
        return sum(1 for d in self.items if d.severity is Severity.ERROR) + sum(
            self._counts[code] - MAX_PER_CODE for code in self._first_dropped
        )

    def diagnostics(self) -> list[Diagnostic]:
        """Every finding kept, plus one line per code that had more than were kept."""
        more = [
            Diagnostic(
                self.display,
                line,
                col,
                Severity.ERROR,
                f"{self._counts[code] - MAX_PER_CODE:,} more [{code}] findings like the "
                f"ones above, from here on (only the first {MAX_PER_CODE} are listed)",
                code,
            )
            for code, (line, col) in self._first_dropped.items()
        ]
        return self.items + more


def _first_bad_utf8(path: Path) -> tuple[int, int]:
    """(line, cell) of the first byte that is not UTF-8: read again, line by line, only
    once decoding has failed."""
    with path.open("rb") as raw:
        for number, data in enumerate(raw, start=1):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                before = data[: exc.start].decode("utf-8", "replace")
                cell = len(next(csv.reader([before]), [""])) if before else 1
                return number, cell
    return 0, 0


def _syntax_error_place(path: Path, first: int, last: int) -> tuple[int, int, str]:
    """(line, cell, hint) of the syntax error csv.reader found in the record on lines
    `first`..`last`: read again, only once parsing has failed. The csv module says what
    is wrong but not in which cell."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            lines = itertools.islice(enumerate(stream, start=1), first - 1, last)
            return _walk_record(lines, first, last)
    except (OSError, UnicodeDecodeError):
        return last, 1, ""  # changed since it was read: the line is still right


def _walk_record(lines: Iterable[tuple[int, str]], first: int, last: int) -> tuple[int, int, str]:
    """The record's characters walked by the rules of the strict excel dialect the reader
    uses, up to the first it refuses. Bounded: a cell ends or fails within
    `field_size_limit` characters, and a record is a few cells."""
    limit = csv.field_size_limit()
    # start: at a cell's start; plain: in an unquoted cell; quoted: inside quotes;
    # quote: just after a quote inside quotes (a doubled one, or the closing one).
    cell, state, size = 1, "start", 0
    opened = (first, 1)
    for number, text in lines:
        for char in text:
            if state == "quoted":
                state, size = ("quote", size) if char == '"' else ("quoted", size + 1)
            elif state == "quote" and char == '"':
                state, size = "quoted", size + 1  # a doubled quote: one literal quote
            elif char == ",":
                cell, state, size = cell + 1, "start", 0
            elif char in "\r\n":
                cell, state, size = 1, "start", 0  # a record ended before the error
            elif state == "quote":
                return number, cell, ""  # ',' expected after '"'
            elif state == "start" and char == '"':
                state, opened, size = "quoted", (number, cell), 0
            else:
                state, size = "plain", size + 1
            if size > limit:
                return number, cell, ""
    if state == "quoted":
        return (*opened, " (a quote opened here is never closed)")
    return last, 1, ""


def records(path: Path, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) for every non-blank record.

    Reading stops at the first undecodable byte or CSV syntax error (a finding); what
    follows cannot be split into cells reliably.
    """
    try:
        stream = path.open("r", encoding="utf-8-sig", newline="")  # Excel writes a BOM
    except OSError as exc:
        problems.add(0, 0, f"cannot read file: {exc.strerror}", "file-unreadable")
        return
    with stream:
        reader = csv.reader(stream, strict=True)
        previous_end = 0
        try:
            for cells in reader:
                # line_num is the line a record ends on; it starts right after the last one.
                start, previous_end = previous_end + 1, reader.line_num
                if cells:
                    yield start, cells
        except UnicodeDecodeError:
            line, cell = _first_bad_utf8(path)
            problems.add(line, cell, "not valid UTF-8 (save the file as UTF-8)", "csv-not-utf8")
        except csv.Error as exc:
            line, cell, hint = _syntax_error_place(path, previous_end + 1, reader.line_num)
            problems.add(line, cell, f"malformed CSV: {exc}{hint}", "csv-syntax")
        except OSError as exc:
            problems.add(0, 0, f"cannot read file: {exc.strerror}", "file-unreadable")


def header_positions(header: list[str]) -> dict[str, int]:
    """Column name (stripped) -> index of its first occurrence."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name.strip(), index)
    return positions
