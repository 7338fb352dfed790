"""The incremental search walk on an in-memory search with HubSpot's rules (sorted by
stamp, offset paging, a result cap): nothing lost at the cap, in ties larger than the
cap, or when records move while the pages are read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from roleSync.adapters.hubspot.search import ChangedSince, stamp_ms


class FakeSearch:
    """Records as {id: stamp}; answers search bodies the way HubSpot does."""

    def __init__(self, stamps: dict[int, int], *, cap: int = 50) -> None:
        self.stamps = stamps
        self.cap = cap
        self.bodies: list[Mapping[str, Any]] = []
        self.before_each: Callable[[int], None] = lambda n: None

    def __call__(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.before_each(len(self.bodies))
        self.bodies.append(body)
        limit, after = int(body["limit"]), int(body["after"])
        if after + limit > self.cap:
            raise AssertionError(f"paged past the cap: after={after} limit={limit}")
        tests = []
        for f in body["filterGroups"][0]["filters"]:
            value, field, op = int(f["value"]), f["propertyName"], f["operator"]
            tests.append((field, op, value))

        def keep(record_id: int) -> bool:
            for field, op, value in tests:
                got = self.stamps[record_id] if field == "hs_lastmodifieddate" else record_id
                ok = {"GTE": got >= value, "GT": got > value, "EQ": got == value}[op]
                if not ok:
                    return False
            return True

        by_id = body["sorts"][0]["propertyName"] == "hs_object_id"
        found = sorted(
            (i for i in self.stamps if keep(i)),
            key=(lambda i: i) if by_id else (lambda i: (self.stamps[i], i)),
        )
        page = found[after : after + limit]
        answer: dict[str, Any] = {
            "total": len(found),
            "results": [
                {"id": str(i), "properties": {"hs_lastmodifieddate": str(self.stamps[i])}}
                for i in page
            ],
        }
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return answer


def walk(search: FakeSearch, since: int = 0, limit: int = 10) -> tuple[dict[str, int], Any]:
    walker = ChangedSince(search, [], since, limit=limit, cap=search.cap)
    seen: dict[str, int] = {}
    for record in walker:
        seen[record["id"]] = int(record["properties"]["hs_lastmodifieddate"])
    return seen, walker.stats


def test_everything_past_the_cap_is_read() -> None:
    search = FakeSearch({i: 1000 + i // 3 for i in range(1, 301)}, cap=50)
    seen, stats = walk(search)
    assert set(seen) == {str(i) for i in range(1, 301)}
    assert stats.restarts_at_cap >= 5
    assert stats.requests < 60  # about 300 / 9 new records a page, plus re-reads


def test_only_records_at_or_after_the_stamp() -> None:
    search = FakeSearch({i: i for i in range(1, 101)}, cap=50)
    seen, _ = walk(search, since=40)
    assert set(seen) == {str(i) for i in range(40, 101)}


def test_a_tie_larger_than_the_cap_is_drained_by_id() -> None:
    stamps = {i: 500 for i in range(1, 121)} | {i: 600 + i for i in range(121, 141)}
    search = FakeSearch(stamps, cap=50)
    seen, stats = walk(search)
    assert set(seen) == {str(i) for i in range(1, 141)}
    assert stats.tie_drains == 1
    tie_bodies = [b for b in search.bodies if b["sorts"][0]["propertyName"] == "hs_object_id"]
    assert tie_bodies and all(int(b["after"]) == 0 for b in tie_bodies)  # keyset, no offset


def test_a_record_moving_while_pages_are_read_shifts_nothing_out() -> None:
    """After the second page, an early record is edited (its stamp becomes the newest):
    plain offset paging would skip the record that moves up into the page already read."""
    stamps = {i: 100 + i for i in range(1, 61)}
    search = FakeSearch(stamps, cap=1000)

    def edit(request_no: int) -> None:
        if request_no == 2:
            stamps[3] = 10_000  # moves from position 3 to the end

    search.before_each = edit
    seen, stats = walk(search)
    assert set(seen) == {str(i) for i in range(1, 61)}
    assert seen["3"] == 10_000  # the newer version is read too
    assert stats.restarts_on_shift == 1


def test_stamps_in_every_form() -> None:
    assert stamp_ms("2026-06-30T12:00:00.123Z") == 1782820800123
    assert stamp_ms("1782820800123") == 1782820800123
    assert stamp_ms(datetime(2026, 6, 30, 12, tzinfo=UTC)) == 1782820800000
    assert stamp_ms("") is None and stamp_ms(None) is None and stamp_ms("soon") is None


@pytest.mark.parametrize("limit", [2, 7, 10])
def test_page_sizes(limit: int) -> None:
    search = FakeSearch({i: 1000 + i // 5 for i in range(1, 101)}, cap=50)
    seen, _ = walk(search, limit=limit)
    assert len(seen) == 100
