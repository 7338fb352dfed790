"""Incremental reads through CRM search: everything modified since a stamp, none lost.

Search sorts by `hs_lastmodifieddate` ascending, pages 200 results at a time by offset,
and refuses to page past the 10,000th result of a query. So:

- Before the cap, the query starts again from the watermark: the stamp of the last
  record read, `GTE`, so records sharing that stamp are not skipped (ties are normal:
  a batch update gives all its records one stamp). Records read twice are the caller's
  to de-duplicate by id.
- Offset paging over a changing result set can skip a record: a record edited while
  the pages are read moves to the end, and everything behind it moves up by one. Each
  page therefore starts one record early (`after - 1`) and must begin with the record
  the previous page ended with; when it does not, the result set moved and the query
  starts again from the watermark.
- A watermark that does not advance (a whole query's worth of records on one stamp) is
  drained by id instead: `stamp EQ S AND hs_object_id GT last`, sorted by id, page by
  page; the query then goes on with `GT S`.
- The caller asks from its cursor minus an overlap window: search lags writes, and a
  record written just before the last pull may only have become searchable since.

Everything here is pure but for `fetch`, which sends one search body and returns the
answer (`{"total", "results", "paging": {"next": {"after"}}}`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

STAMP = "hs_lastmodifieddate"
ID = "hs_object_id"
PAGE_LIMIT = 200
RESULT_CAP = 10_000

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)

Fetch = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def stamp_ms(raw: object) -> int | None:
    """Epoch milliseconds of a HubSpot datetime value (ISO text, ms digits, datetime)."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        moment = raw
    else:
        text = str(raw).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MILLISECOND


def record_stamp(record: Mapping[str, Any]) -> int:
    properties = record.get("properties") or {}
    found = stamp_ms(properties.get(STAMP))
    if found is None:
        found = stamp_ms(record.get("updatedAt"))
    return found if found is not None else 0


@dataclass(frozen=True, slots=True)
class Lower:
    """The lower bound of a query: `stamp GTE ms` (inclusive) or `GT ms`."""

    ms: int
    inclusive: bool = True


@dataclass(slots=True)
class SearchStats:
    requests: int = 0
    queries: int = 0  # restarts from the watermark included
    restarts_at_cap: int = 0
    restarts_on_shift: int = 0
    tie_drains: int = 0


def _body(
    filters: list[dict[str, Any]], sort: str, properties: Sequence[str], limit: int, after: int
) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
        "after": str(after),
    }


def since_body(
    properties: Sequence[str], lower: Lower, *, after: int = 0, limit: int = PAGE_LIMIT
) -> dict[str, Any]:
    operator = "GTE" if lower.inclusive else "GT"
    return _body(
        [{"propertyName": STAMP, "operator": operator, "value": str(lower.ms)}],
        STAMP,
        properties,
        limit,
        after,
    )


def tie_body(
    properties: Sequence[str], ms: int, after_id: str | None, *, limit: int = PAGE_LIMIT
) -> dict[str, Any]:
    filters = [{"propertyName": STAMP, "operator": "EQ", "value": str(ms)}]
    if after_id is not None:
        filters.append({"propertyName": ID, "operator": "GT", "value": after_id})
    return _body(filters, ID, properties, limit, 0)


def newest_body() -> dict[str, Any]:
    """The most recently modified record: the cursor a full pull starts from. HubSpot's
    published spec (PublicObjectSearchRequest) requires all five fields, `filterGroups`
    too: an empty list when nothing is filtered (sent as is: a dict body passes through
    the SDK's serializer unchanged, where its model would drop unset fields)."""
    return {
        "filterGroups": [],
        "sorts": [{"propertyName": STAMP, "direction": "DESCENDING"}],
        "properties": [STAMP],
        "limit": 1,
        "after": "0",
    }


def _next_after(answer: Mapping[str, Any]) -> str | None:
    after = ((answer.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _results(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in answer.get("results") or [] if isinstance(r, dict)]


class ChangedSince:
    """Iterate over every record modified at or after `since_ms` (with repeats)."""

    def __init__(
        self,
        fetch: Fetch,
        properties: Sequence[str],
        since_ms: int,
        *,
        limit: int = PAGE_LIMIT,
        cap: int = RESULT_CAP,
    ) -> None:
        if limit < 2:
            # Each page re-reads the previous page's last record: one more is needed.
            raise ValueError("search pages must hold at least 2 records")
        self._fetch = fetch
        self._properties = list(dict.fromkeys([*properties, STAMP, ID]))
        self._since = since_ms
        self._limit = limit
        self._cap = cap
        self.stats = SearchStats()

    def _send(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        self.stats.requests += 1
        return self._fetch(body)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        lower = Lower(self._since)
        while True:
            self.stats.queries += 1
            last_stamp: int | None = None
            finished = True
            after = 0
            expected_first: str | None = None
            while True:
                answer = self._send(
                    since_body(self._properties, lower, after=after, limit=self._limit)
                )
                page = _results(answer)
                if expected_first is not None:
                    if not page or str(page[0].get("id")) != expected_first:
                        self.stats.restarts_on_shift += 1
                        finished = False
                        break
                    fresh = page[1:]
                else:
                    fresh = page
                for record in fresh:
                    last_stamp = record_stamp(record)
                    yield record
                token = _next_after(answer)
                if token is None or not page:
                    break
                if not token.isdigit():
                    # An opaque paging token: no offset arithmetic, no shift check.
                    raise ValueError(f"search paging token is not an offset: {token!r}")
                following = int(token) - 1  # one record early: the shift check
                if following + self._limit > self._cap:
                    self.stats.restarts_at_cap += 1
                    finished = False
                    break
                after, expected_first = following, str(page[-1].get("id"))
            if finished:
                return
            if last_stamp is None or last_stamp <= lower.ms:
                # No progress past the bound: drain that stamp by id, then go on after it.
                stuck = lower.ms if last_stamp is None else last_stamp
                yield from self._drain(stuck)
                lower = Lower(stuck, inclusive=False)
            else:
                lower = Lower(last_stamp)

    def _drain(self, ms: int) -> Iterator[dict[str, Any]]:
        self.stats.tie_drains += 1
        after_id: str | None = None
        while True:
            answer = self._send(tie_body(self._properties, ms, after_id, limit=self._limit))
            page = _results(answer)
            yield from page
            if not page or _next_after(answer) is None:
                return
            after_id = str(page[-1].get("id"))
