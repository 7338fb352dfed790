"""Which company each deal, contact or task belongs to, read through the v4 batch
association endpoint, in linear work.

Ids go out 100 a request; an id with more associations than one answer holds comes back
with `paging.next.after` and is asked again (`{"id", "after"}`) after the ids still
waiting. The ids are read lazily from their iterable (a full pull reads them back from
the mirror a page at a time), the continuations wait in a deque: taking a batch pops
only that batch. (The list this replaces was re-sliced whole for every batch,
`queue[batch:]`, which copied every waiting input per request: quadratic, 11 s at 500k
companies.) Each answer's candidates go to a dict (`company_links`, incremental pulls:
a chunk of records) or to a TEMP table of the mirror (`stage_links`, full pulls of deals:
mirror_links.py), one answer at a time.

HubSpot's spec types `toObjectId` as a string; the live API sends a JSON number
(crm-api-notes.md, "HubSpot spec details"). Both are read as the same id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import Any, Protocol

# v4 association type ids of a record's primary company (either direction): deal 5/6,
# contact 1/2 (type ids are per pair of objects; these do not collide).
PRIMARY_TYPES = frozenset({1, 2, 5, 6})


class AssociationReader(Protocol):
    def associations(
        self, from_type: str, to_type: str, inputs: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]: ...


class InputQueue:
    """The inputs still to send, first in first out: the ids fed in (read lazily, so a
    full pull's million ids are never all held), then the continuations pushed. `moves`
    counts every input put in or taken out: the whole work of the queue, so a test can
    see that it is linear."""

    def __init__(self) -> None:
        self._fresh: Iterator[str] = iter(())
        self._fresh_done = True
        self._waiting: deque[dict[str, str]] = deque()
        self.moves = 0

    def feed(self, ids: Iterable[str]) -> None:
        self._fresh = iter(ids)
        self._fresh_done = False

    def __bool__(self) -> bool:
        if not self._fresh_done:
            first = next(self._fresh, None)
            if first is None:
                self._fresh_done = True
            else:
                self._fresh = chain((first,), self._fresh)
        return not self._fresh_done or bool(self._waiting)

    def push(self, item: dict[str, str]) -> None:
        self._waiting.append(item)
        self.moves += 1

    def take(self, batch: int) -> list[dict[str, str]]:
        taken = [] if self._fresh_done else [{"id": i} for i in islice(self._fresh, batch)]
        # A fed id counts as put in and taken out at once; a continuation was counted
        # when pushed.
        self.moves += 2 * len(taken)
        if len(taken) < batch:
            self._fresh_done = True
            while self._waiting and len(taken) < batch:
                taken.append(self._waiting.popleft())
                self.moves += 1
        return taken


def object_id(raw: object) -> str | None:
    """An id as text, from the spec's string or the live API's JSON number; None when
    it is neither (a float such as 1.5, a bool, null)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return str(int(raw.strip()))
    return None


Candidate = tuple[str, str, bool]  # record id, company id, a primary association


def link_candidates(
    client: AssociationReader,
    from_type: str,
    to_type: str,
    ids: Iterable[str],
    batch: int,
    *,
    queue: InputQueue | None = None,
) -> Iterator[list[Candidate]]:
    """The candidates of each association answer, one answer at a time: (record, company,
    primary) for every record (deal, contact, task) and company associated."""
    waiting = queue if queue is not None else InputQueue()
    waiting.feed(ids)
    while waiting:
        answer = client.associations(from_type, to_type, waiting.take(batch))
        found: list[Candidate] = []
        # Ids without associations come back as NO_ASSOCIATIONS_FOUND errors: nothing to do.
        for result in answer.get("results") or []:
            source = str((result.get("from") or {}).get("id"))
            for target in result.get("to") or []:
                other = object_id(target.get("toObjectId"))
                if other is None:
                    continue
                types = {t.get("typeId") for t in target.get("associationTypes") or []}
                primary = bool(types & PRIMARY_TYPES)
                record, company = (other, source) if from_type == "companies" else (source, other)
                found.append((record, company, primary))
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                waiting.push({"id": source, "after": str(after)})
        yield found


def company_links(
    client: AssociationReader,
    from_type: str,
    to_type: str,
    ids: Iterable[str],
    batch: int,
    *,
    queue: InputQueue | None = None,
) -> dict[str, str]:
    """Record (deal, contact, task) id -> its company id; a record with several companies
    gets its primary one (else the lowest id). `queue` (tests) is fed `ids`. Full pulls
    of deals stage the candidates in SQL instead (`stage_links`, mirror_links.py)."""
    # The best candidate so far per record, not every candidate.
    found: dict[str, tuple[bool, str]] = {}
    for candidates in link_candidates(client, from_type, to_type, ids, batch, queue=queue):
        for record, company, primary in candidates:
            candidate = (not primary, company)
            held = found.get(record)
            if held is None or candidate < held:
                found[record] = candidate
    return {record: best[1] for record, best in found.items()}


def stage_links(
    client: AssociationReader,
    from_type: str,
    to_type: str,
    ids: Iterable[str],
    batch: int,
    add: Callable[[Iterable[Candidate]], None],
) -> None:
    """Every candidate into `add` (a LinkStage's), one answer at a time."""
    for candidates in link_candidates(client, from_type, to_type, ids, batch):
        add(candidates)
