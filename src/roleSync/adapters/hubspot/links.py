"""Which company each deal, contact or task belongs to, read through the v4 batch
association endpoint, in linear work.

Ids go out 100 a request; an id with more associations than one answer holds comes back
with `paging.next.after` and is asked again (`{"id", "after"}`) after the ids still
waiting. The waiting inputs live in a deque: taking a batch pops only that batch. (The
list this replaces was re-sliced whole for every batch, `queue[batch:]`, which copied
every waiting input per request: quadratic, 11 s at 500k companies.)

HubSpot's spec types `toObjectId` as a string; the live API sends a JSON number
(crm-api-notes.md, "HubSpot spec details"). Both are read as the same id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

# v4 association type ids of a record's primary company (either direction): deal 5/6,
# contact 1/2 (type ids are per pair of objects; these do not collide).
PRIMARY_TYPES = frozenset({1, 2, 5, 6})


class AssociationReader(Protocol):
    def associations(
        self, from_type: str, to_type: str, inputs: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]: ...


class InputQueue:
    """The inputs still to send, first in first out. `moves` counts every input put in or
    taken out: the whole work of the queue, so a test can see that it is linear."""

    def __init__(self) -> None:
        self._waiting: deque[dict[str, str]] = deque()
        self.moves = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def push(self, item: dict[str, str]) -> None:
        self._waiting.append(item)
        self.moves += 1

    def take(self, batch: int) -> list[dict[str, str]]:
        count = min(batch, len(self._waiting))
        taken = [self._waiting.popleft() for _ in range(count)]
        self.moves += count
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
    gets its primary one (else the lowest id). `queue` (tests) is filled with `ids`."""
    # The best candidate so far per record, not every candidate: a full pull reads the
    # links of every deal, and a list a deal would make them grow faster than the deals.
    found: dict[str, tuple[bool, str]] = {}
    waiting = queue if queue is not None else InputQueue()
    for record_id in ids:
        waiting.push({"id": record_id})
    while len(waiting):
        answer = client.associations(from_type, to_type, waiting.take(batch))
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
                candidate = (not primary, company)
                held = found.get(record)
                if held is None or candidate < held:
                    found[record] = candidate
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                waiting.push({"id": source, "after": str(after)})
    return {record: best[1] for record, best in found.items()}
