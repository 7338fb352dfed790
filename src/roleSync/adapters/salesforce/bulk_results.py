"""One Bulk API 2.0 query results page, parsed as it downloads.

A results page is up to `maxRecords` rows of CSV (100,000 by default: some 20 MB of
text and several times that as Python lists). Read whole, one page would be the peak of
a full pull; here the body goes through in chunks of CHUNK_BYTES (requests undoes a
gzip `Content-Encoding` chunk by chunk), and each row is handed on as soon as it is
parsed, so what a page holds at once is a chunk and a row.

Strict, because a page that is not what was asked for must stop the pull rather than
land in the mirror: the header row names the requested fields (in their order, any
case), every row has one cell per field, quoting is well formed (csv `strict`), the
text is UTF-8. Every page carries its header row, as the Bulk API 2.0 guide says; a page
after the first without one (one secondary source says only the first has it) is read
as rows (a first row whose Id cell says "Id" is a header, and must match), and the
row count the server announced (`Sforce-NumberOfRecords`) tells a page cut short from
a whole one. Errors are `PageError` with one line saying what was wrong;
the caller names the job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

CHUNK_BYTES = 64 * 1024


class PageError(ValueError):
    """A results page that is not the CSV the job was asked for."""


class _Chunks(io.RawIOBase):
    """A readable stream over an iterable of byte chunks (a response's iter_content), so
    the standard text and CSV readers can pull from a download as it arrives."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _names(row: Sequence[str]) -> list[str]:
    return [name.strip().lower() for name in row]


def page_rows(
    chunks: Iterable[bytes], fields: Sequence[str], *, first_page: bool, delimiter: str = ","
) -> Iterator[tuple[list[str], list[str]]]:
    """(header as the server spelt it, row) for each data row of one results page.

    `fields`: the SELECT's fields, in order. Raises PageError for a page that does not
    parse or does not match them; errors of the download itself (a connection closed
    mid-body, a gzip stream that does not decode) pass through as requests raises them.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_Chunks(chunks), CHUNK_BYTES), encoding="utf-8-sig", newline=""
    )
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    wanted = _names(fields)
    header = list(fields)
    try:
        first = next(reader, None)
        if first is None:
            if first_page:
                raise PageError("results page is empty: no header row")
            return
        if _names(first) == wanted:
            header = first
        elif first_page or _looks_like_a_header(first, wanted):
            shown = delimiter.join(first)[:200]
            raise PageError(
                f"results header {shown!r} does not match the requested fields "
                f"{delimiter.join(fields)[:200]!r}"
            )
        else:
            yield header, _checked(first, len(wanted), reader.line_num)
        for row in reader:
            yield header, _checked(row, len(wanted), reader.line_num)
    except csv.Error as exc:
        raise PageError(f"results CSV does not parse at line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise PageError(f"results are not UTF-8 text ({exc.reason})") from None


def _looks_like_a_header(row: Sequence[str], wanted: Sequence[str]) -> bool:
    """A later page's first row is a header, not a record, when its Id cell says "Id":
    a record's Id never does (15 or 18 characters)."""
    names = _names(row)
    return "id" in wanted and "id" in names and names.index("id") == wanted.index("id")


def _checked(row: list[str], width: int, line: int) -> list[str]:
    if len(row) != width:
        raise PageError(
            f"results CSV line {line} has {len(row)} cells where the header has {width}"
        )
    return row
