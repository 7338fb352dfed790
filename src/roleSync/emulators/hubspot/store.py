"""The emulated portal's records, owners, associations and clock.

`insert` is the back door for arranging data (it trusts ids and stamps, and the
record is searchable at once); `update` and `archive` behave like a person editing
the record in HubSpot: they validate, bump `hs_lastmodifieddate`, and the search
index sees the change only after the configured search lag.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from roleSync.emulators.clock import Clock
from roleSync.emulators.hubspot.records import Owner, Properties, StoredObject
from roleSync.emulators.hubspot.schema import (
    OBJECT_TYPE_IDS,
    PropertyDef,
    canonical_object,
    default_properties,
    value_problem,
)
from roleSync.emulators.hubspot.wire import detail, iso_ms, to_ms

__all__ = ["FIRST_IDS", "HubSpotStore", "Owner", "Properties", "StoredObject"]

# Where each object type's ids start: distinct ranges make a mixed-up id obvious.
FIRST_IDS = {
    "contacts": 51_000_000_001,
    "companies": 9_000_000_001,
    "deals": 14_000_000_001,
    "tasks": 72_000_000_001,
    "users": 300_001,
}


class HubSpotStore:
    """Thread-safe: every method takes `lock` (an RLock, so callers may hold it too)."""

    def __init__(self, clock: Clock | None = None, *, search_lag_seconds: float = 0.0) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.search_lag_seconds = search_lag_seconds
        # Bumped by every change: search caches its sorted results per version.
        self.version = 0
        # API writes per (object type, id): lets tests prove nothing was written twice.
        self.api_writes: Counter[tuple[str, str]] = Counter()
        self._properties = default_properties()
        self._objects: dict[str, dict[str, StoredObject]] = {name: {} for name in OBJECT_TYPE_IDS}
        self._order: dict[str, list[int]] = {name: [] for name in OBJECT_TYPE_IDS}
        self._next_id = dict(FIRST_IDS)
        self._pending_until: dict[str, float] = dict.fromkeys(OBJECT_TYPE_IDS, 0.0)
        self._owners: dict[str, Owner] = {}
        # (from type, to type) -> from id -> associated ids, kept in both directions.
        self._links: dict[tuple[str, str], dict[str, list[str]]] = {}

    # --- schema -------------------------------------------------------------------------

    @staticmethod
    def object_type(name: str) -> str | None:
        return canonical_object(name)

    def _kind(self, name: str) -> str:
        found = canonical_object(name)
        if found is None:
            raise KeyError(f"unknown object type {name!r}")
        return found

    def properties(self, object_type: str) -> dict[str, PropertyDef]:
        with self.lock:
            return dict(self._properties[self._kind(object_type)])

    def define_property(self, object_type: str, definition: PropertyDef) -> None:
        """Add a property (existing records hold null in it); ValueError if the name is taken."""
        with self.lock:
            table = self._properties[self._kind(object_type)]
            if definition.name in table:
                raise ValueError(f"Property named '{definition.name}' already exists.")
            table[definition.name] = definition
            self.version += 1

    # --- reading ------------------------------------------------------------------------

    def get(self, object_type: str, record_id: str) -> Properties | None:
        """A copy of the record's properties, archived or not; None when there is none."""
        with self.lock:
            found = self._objects[self._kind(object_type)].get(record_id)
            return dict(found.properties) if found is not None else None

    def all(self, object_type: str, *, include_archived: bool = False) -> list[Properties]:
        with self.lock:
            kind = self._kind(object_type)
            table = self._objects[kind]
            return [
                dict(table[str(i)].properties)
                for i in self._order[kind]
                if include_archived or not table[str(i)].archived
            ]

    def count(self, object_type: str) -> int:
        with self.lock:
            return sum(1 for r in self._objects[self._kind(object_type)].values() if not r.archived)

    def is_archived(self, object_type: str, record_id: str) -> bool:
        with self.lock:
            found = self._objects[self._kind(object_type)].get(record_id)
            return found is not None and found.archived

    def record(self, object_type: str, record_id: str) -> StoredObject | None:
        """The live record (hold `lock` while using it)."""
        return self._objects[self._kind(object_type)].get(record_id)

    def table(self, object_type: str) -> Mapping[str, StoredObject]:
        """The live records by id (hold `lock` while reading)."""
        return self._objects[self._kind(object_type)]

    def ordered_ids(self, object_type: str) -> list[int]:
        """The live list of ids in ascending order (hold `lock` while reading)."""
        return self._order[self._kind(object_type)]

    def search_settled(self, object_type: str) -> bool:
        """True when the search index holds the latest version of every record."""
        with self.lock:
            return time.monotonic() >= self._pending_until[self._kind(object_type)]

    # --- owners and associations -----------------------------------------------------------

    def add_owner(self, owner: Owner) -> None:
        with self.lock:
            self._owners[owner.id] = owner

    def owner(self, owner_id: str) -> Owner | None:
        with self.lock:
            return self._owners.get(owner_id)

    def owners(self, *, archived: bool = False) -> list[Owner]:
        """Active owners, or only the archived ones (as the API lists them), by id."""
        with self.lock:
            chosen = [o for o in self._owners.values() if o.archived == archived]
        return sorted(chosen, key=lambda o: int(o.id))

    def archive_owner(self, owner_id: str) -> None:
        """The person left: the owner is archived (records keep pointing at it)."""
        with self.lock:
            found = self._owners[owner_id]
            found.archived = True
            found.updated_ms = self.now_ms()
            self.version += 1

    def valid_owner(self, owner_id: str) -> bool:
        with self.lock:
            found = self._owners.get(owner_id)
            return found is not None and not found.archived

    def associate(self, company_id: str, deal_id: str) -> None:
        """A deal belongs to one company: associating it again moves it."""
        with self.lock:
            for previous in self.associated("deals", deal_id, "companies"):
                self._unlink("deals", deal_id, "companies", previous)
            self.link("companies", company_id, "deals", deal_id)

    def link(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two records (both directions; linking twice changes nothing)."""
        with self.lock:
            source, target = self._kind(from_type), self._kind(to_type)
            forward = self._links.setdefault((source, target), {}).setdefault(from_id, [])
            if to_id not in forward:
                forward.append(to_id)
                self._links.setdefault((target, source), {}).setdefault(to_id, []).append(from_id)
            self.version += 1

    def unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove an association (both directions)."""
        with self.lock:
            self._unlink(self._kind(from_type), from_id, self._kind(to_type), to_id)
            self.version += 1

    def _unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._links[(from_type, to_type)][from_id].remove(to_id)
        self._links[(to_type, from_type)][to_id].remove(from_id)

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of `to_type` records associated with one record, oldest link first."""
        with self.lock:
            key = (self._kind(from_type), self._kind(to_type))
            return list(self._links.get(key, {}).get(from_id, ()))

    def deals_of(self, company_id: str) -> list[str]:
        return self.associated("companies", company_id, "deals")

    def company_of(self, deal_id: str) -> str | None:
        found = self.associated("deals", deal_id, "companies")
        return found[0] if found else None

    # --- the clock ----------------------------------------------------------------------

    def now_ms(self) -> int:
        """The next modification stamp (consumes it)."""
        return to_ms(self.clock.now())

    def set_clock(self, when: datetime, *, freeze: bool = False) -> None:
        """Make `when` the next stamp; with `freeze`, every stamp until release_clock().

        Frozen, several edits share one hs_lastmodifieddate: the ties incremental
        pulls must survive.
        """
        self.clock.set(when)
        if freeze:
            self.clock.freeze(when)

    def release_clock(self) -> None:
        self.clock.unfreeze()

    # --- writing ------------------------------------------------------------------------

    def new_id(self, object_type: str) -> str:
        with self.lock:
            kind = self._kind(object_type)
            value = self._next_id[kind]
            self._next_id[kind] = value + 1
            return str(value)

    def insert(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        created_ms: int | None = None,
        updated_ms: int | None = None,
        record_id: str | None = None,
    ) -> str:
        """Add a record as given (trusted: no validation), searchable at once."""
        with self.lock:
            kind = self._kind(object_type)
            new = record_id or self.new_id(kind)
            created = created_ms if created_ms is not None else self.now_ms()
            updated = updated_ms if updated_ms is not None else created
            values: Properties = dict(properties)
            values["hs_object_id"] = new
            values["createdate"] = iso_ms(created)
            values["hs_lastmodifieddate"] = iso_ms(updated)
            _derive(kind, values)
            self._objects[kind][new] = StoredObject(new, values, created, updated)
            order = self._order[kind]
            if not order or int(new) > order[-1]:
                order.append(int(new))  # the common case while seeding: ids only grow
            else:
                bisect.insort(order, int(new))
            self._next_id[kind] = max(self._next_id[kind], int(new) + 1)
            self.version += 1
            return new

    def create(
        self, object_type: str, properties: Mapping[str, Any], stamp_ms: int
    ) -> StoredObject:
        """A record created through the API (checked by the caller; hold `lock`)."""
        kind = self._kind(object_type)
        new = self.new_id(kind)
        values: Properties = {
            name: None if value is None or value == "" else _text(value)
            for name, value in properties.items()
        }
        values.update(hs_object_id=new, createdate=iso_ms(stamp_ms))
        values["hs_lastmodifieddate"] = iso_ms(stamp_ms)
        _derive(kind, values)
        found = StoredObject(new, values, stamp_ms, stamp_ms)
        self._objects[kind][new] = found
        bisect.insort(self._order[kind], int(new))
        self._touched(kind, found)
        self.api_writes[(kind, new)] += 1
        return found

    def unique_holder(self, object_type: str, name: str, value: str) -> str | None:
        """The id of the live record holding `value` in property `name`, if any."""
        with self.lock:
            for record in self._objects[self._kind(object_type)].values():
                if not record.archived and record.properties.get(name) == value:
                    return record.id
            return None

    def name_problems(self, object_type: str, names: Iterable[str]) -> list[dict[str, Any]]:
        """Property names a write may not use: unknown or read-only (the whole request fails)."""
        table = self._properties[self._kind(object_type)]
        problems = []
        for name in names:
            definition = table.get(name)
            if definition is None:
                problems.append(
                    detail(f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST",
                           propertyName=[name])
                )  # fmt: skip
            elif definition.read_only:
                problems.append(
                    detail(f'"{name}" is a read only property; its value cannot be set.',
                           "READ_ONLY_VALUE", propertyName=[name])
                )  # fmt: skip
        return problems

    def value_problems(self, object_type: str, changes: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Values one record's write may not set (only that record fails)."""
        table = self._properties[self._kind(object_type)]
        problems = []
        for name, value in changes.items():
            definition = table.get(name)
            if definition is None or value is None:
                continue
            text = _text(value)
            if name == "hubspot_owner_id":
                if text and not self.valid_owner(text):
                    problems.append(
                        detail(f"{text} is not a valid owner id", "INVALID_OWNER_ID",
                               propertyName=[name])
                    )  # fmt: skip
                continue
            problem = value_problem(definition, text)
            if problem is not None:
                problems.append(detail(problem, "INVALID_OPTION", propertyName=[name]))
        return problems

    def apply(
        self,
        object_type: str,
        record_id: str,
        changes: Mapping[str, Any],
        stamp_ms: int,
        *,
        api: bool,
    ) -> StoredObject:
        """Write checked changes to a live record (hold `lock`)."""
        kind = self._kind(object_type)
        found = self._objects[kind][record_id]
        for name, value in changes.items():
            found.properties[name] = None if value is None or value == "" else _text(value)
        _derive(kind, found.properties)
        found.updated_ms = stamp_ms
        found.properties["hs_lastmodifieddate"] = iso_ms(stamp_ms)
        self._touched(kind, found)
        if api:
            self.api_writes[(kind, record_id)] += 1
        return found

    def update(self, object_type: str, record_id: str, changes: Mapping[str, Any]) -> None:
        """A person edits the record: validated like the API, stamped with the clock."""
        with self.lock:
            kind = self._kind(object_type)
            if record_id not in self._objects[kind]:
                raise KeyError(f"no {kind} record {record_id}")
            problems = self.name_problems(kind, changes) + self.value_problems(kind, changes)
            if problems:
                raise ValueError("; ".join(p["message"] for p in problems))
            self.apply(kind, record_id, changes, self.now_ms(), api=False)

    def archive(self, object_type: str, record_id: str) -> None:
        with self.lock:
            kind = self._kind(object_type)
            found = self._objects[kind][record_id]
            found.archived = True
            found.updated_ms = self.now_ms()
            found.properties["hs_lastmodifieddate"] = iso_ms(found.updated_ms)
            self._touched(kind, found)

    def _touched(self, kind: str, found: StoredObject) -> None:
        found.visible_at = time.monotonic() + self.search_lag_seconds
        self._pending_until[kind] = max(self._pending_until[kind], found.visible_at)
        self.version += 1


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _derive(kind: str, values: Properties) -> None:
    """HubSpot's calculated properties: a deal's closed flags follow its stage, a task's
    completion its status."""
    if kind == "tasks":
        values["hs_task_is_completed"] = "1" if values.get("hs_task_status") == "COMPLETED" else "0"
    if kind == "deals":
        stage = values.get("dealstage")
        values["hs_is_closed"] = "true" if stage in {"closedwon", "closedlost"} else "false"
        values["hs_is_closed_won"] = "true" if stage == "closedwon" else "false"
