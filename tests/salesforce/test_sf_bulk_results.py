"""One Bulk API 2.0 results page parsed as it downloads (bulk_results.py), on bare
bytes: chunk boundaries anywhere, the header checked, strict CSV, one line per error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roleSync.adapters.salesforce.bulk_results import PageError, page_rows

FIELDS = ("Id", "Name", "AnnualRevenue")
PAGE = '"Id","Name","AnnualRevenue"\n"001A","Acme, ""the"" one","5"\n"001B","Two\nlines",""\n'


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1 << 16])
def test_rows_come_out_whole_whatever_the_chunk_boundaries(size: int) -> None:
    data = ("\ufeff" + PAGE).encode("utf-8")  # a byte-order mark is not part of the header
    rows = list(page_rows(chunks(data, size), FIELDS, first_page=True))
    assert [row for _, row in rows] == [
        ["001A", 'Acme, "the" one', "5"],
        ["001B", "Two\nlines", ""],
    ]
    assert rows[0][0] == ["Id", "Name", "AnnualRevenue"]


def test_the_header_is_matched_without_regard_to_case() -> None:
    data = PAGE.replace('"Name"', '"NAME"', 1).encode()
    header, _ = next(page_rows([data], FIELDS, first_page=True))
    assert header == ["Id", "NAME", "AnnualRevenue"]


def test_a_later_page_may_come_without_its_header() -> None:
    data = b'"001C","Three","7"\n'
    rows = list(page_rows([data], FIELDS, first_page=False))
    assert rows == [(list(FIELDS), ["001C", "Three", "7"])]
    assert list(page_rows([b""], FIELDS, first_page=False)) == []


@pytest.mark.parametrize(
    ("data", "first", "said"),
    [
        (b"", True, "results page is empty: no header row"),
        (PAGE.replace("AnnualRevenue", "Industry").encode(), True, "does not match the requested"),
        # A later page's header names other fields: not read as a record.
        (b'"Id","Name","Industry"\n"001C","x","y"\n', False, "does not match the requested"),
        (PAGE.replace('"001A",', '"001A"x,').encode(), True, "does not parse at line 2"),
        (PAGE.replace(',"5"', "").encode(), True, "line 2 has 2 cells where the header has 3"),
        (PAGE[:-8].encode(), True, "does not parse at line"),  # cut inside a quoted cell
        (PAGE.encode() + b'"001C","\xff","1"\n', True, "not UTF-8"),
        (PAGE.encode() + b"\n", True, "has 0 cells"),  # a blank line is not a record
    ],
)
def test_a_page_that_is_not_the_csv_asked_for_is_one_line(
    data: bytes, first: bool, said: str
) -> None:
    with pytest.raises(PageError) as caught:
        list(page_rows(chunks(data, 5), FIELDS, first_page=first))
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)
