"""The emulated org's records, its clock, and the write rules Salesforce enforces."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roleSync.emulators.clock import Clock
from roleSync.emulators.salesforce.schema import (
    INSERT_DEFAULTS,
    REQUIRED_ON_INSERT,
    STAGES,
    TASK_STATUSES,
    FieldDef,
    FieldType,
    FieldValueError,
    SObjectDef,
    Value,
    coerce,
    default_schema,
    make_id,
    normalize_id,
    resolve_sobject,
)

Record = dict[str, Value]


@dataclass
class RecordError(Exception):
    """A write Salesforce refuses for one record: statusCode, message and fields."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


def lock_error(record_id: str) -> RecordError:
    """The per-record error of a row another transaction holds."""
    return RecordError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
    )


class SalesforceStore:
    """Records by sObject type. Thread-safe: every method takes `lock`.

    `insert` is the back door for arranging data (it trusts Ids, timestamps and
    references it is given); `update` and `delete` behave like a person editing the
    record in the org: they validate like the API and bump the modification stamps.
    """

    def __init__(
        self, clock: Clock | None = None, schema: dict[str, SObjectDef] | None = None
    ) -> None:
        self.clock = clock or Clock()
        self.schema = schema if schema is not None else default_schema()
        self.lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {name: {} for name in self.schema}
        self._serial: dict[str, int] = {}

    # --- schema ---------------------------------------------------------------------

    def sobject(self, name: str) -> SObjectDef:
        found = resolve_sobject(self.schema, name)
        if found is None:
            raise KeyError(f"unknown sObject type {name!r}")
        return found

    def define_field(
        self,
        sobject: str,
        name: str,
        kind: FieldType,
        *,
        updateable: bool = True,
        reference_to: str | None = None,
        unique: bool = False,
    ) -> None:
        """Add a custom field (existing records hold null in it)."""
        with self.lock:
            self.sobject(sobject).add(FieldDef(name, kind, updateable, reference_to, unique))

    # --- reading --------------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> Record | None:
        """A copy of the record, deleted or not; None when there is no such record."""
        with self.lock:
            found = self._find(self.sobject(sobject), record_id)
            return dict(found) if found is not None else None

    def all(self, sobject: str, *, include_deleted: bool = False) -> list[Record]:
        with self.lock:
            table = self._records[self.sobject(sobject).name]
            return [dict(r) for r in table.values() if include_deleted or not r["IsDeleted"]]

    def count(self, sobject: str, *, include_deleted: bool = False) -> int:
        with self.lock:
            table = self._records[self.sobject(sobject).name]
            return sum(1 for r in table.values() if include_deleted or not r["IsDeleted"])

    def table(self, sobject: SObjectDef) -> Mapping[str, Record]:
        """The live records of one type, for the query engine: hold `lock` while reading."""
        return self._records[sobject.name]

    # --- writing --------------------------------------------------------------------

    def new_id(self, sobject: SObjectDef) -> str:
        with self.lock:
            serial = self._serial.get(sobject.key_prefix, 0) + 1
            self._serial[sobject.key_prefix] = serial
            return make_id(sobject.key_prefix, serial)

    def insert(self, sobject: str, record: Mapping[str, Any]) -> str:
        """Store a record; fields not given are null, stamps default to the clock."""
        with self.lock:
            definition = self.sobject(sobject)
            values: Record = dict.fromkeys(definition.fields)
            for name, raw in record.items():
                target = definition.resolve(name)
                if target is None:
                    raise KeyError(f"no field {name!r} on {definition.name}")
                try:
                    values[target.name] = coerce(target, raw)
                except FieldValueError as exc:
                    raise ValueError(str(exc)) from None
            record_id = values["Id"]
            if not isinstance(record_id, str):
                record_id = values["Id"] = self.new_id(definition)
            if record_id in self._records[definition.name]:
                raise ValueError(f"duplicate Id {record_id}")
            now = self.clock.now()
            values["CreatedDate"] = values["CreatedDate"] or now
            values["LastModifiedDate"] = values["LastModifiedDate"] or values["CreatedDate"]
            values["SystemModstamp"] = values["SystemModstamp"] or values["LastModifiedDate"]
            values["IsDeleted"] = bool(values["IsDeleted"])
            _derive(definition, values)
            self._derive_links(definition, values)
            self._records[definition.name][record_id] = values
            return record_id

    def insert_trusted(self, sobject: SObjectDef, values: Record) -> None:
        """Seeding's fast path: values are already complete and typed."""
        with self.lock:
            self._records[sobject.name][str(values["Id"])] = values

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Edit a record as a person in the org would; raises RecordError when refused."""
        with self.lock:
            definition = self.sobject(sobject)
            canonical, changes = self.check_update(definition, record_id, fields)
            self.apply_update(definition, canonical, changes)

    def delete(self, sobject: str, record_id: str) -> None:
        """Move a record to the recycle bin: only queryAll still sees it."""
        with self.lock:
            found = self._find(self.sobject(sobject), record_id)
            if found is None:
                raise RecordError("NOT_FOUND", "The requested resource does not exist")
            if found["IsDeleted"]:
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
            found["IsDeleted"] = True
            found["SystemModstamp"] = found["LastModifiedDate"] = self.clock.now()

    def check_update(
        self, definition: SObjectDef, record_id: str, fields: Mapping[str, Any]
    ) -> tuple[str, Record]:
        """Validate an update without applying it: (the 18-char Id, typed changes)."""
        canonical = normalize_id(record_id) if isinstance(record_id, str) else None
        if canonical is None or not canonical.startswith(definition.key_prefix):
            raise RecordError(
                "MALFORMED_ID",
                f"{definition.name} ID: id value of incorrect type: {record_id}",
                ["Id"],
            )
        with self.lock:
            found = self._records[definition.name].get(canonical)
            if found is None:
                raise RecordError("NOT_FOUND", "The requested resource does not exist")
            if found["IsDeleted"]:
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
            changes: Record = {}
            for name, raw in fields.items():
                target, value = self._written(definition, name, raw, canonical)
                changes[target.name] = value
            return canonical, changes

    def _written(
        self, definition: SObjectDef, name: str, raw: Any, record_id: str | None
    ) -> tuple[FieldDef, Value]:
        """The field `name` resolves to and `raw` as its value, checked as the API checks
        a write: of the record `record_id`, or of a new record (None). Under the lock."""
        target = definition.resolve(name)
        if target is None:
            raise RecordError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {definition.name}",
                [name],
            )
        if record_id is None and target.name == "Id":
            raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        if not target.updateable:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {target.name}. Please check the "
                "security settings of this field and verify that it is read/write "
                "for your profile or permission set.",
                [target.name],
            )
        try:
            value = coerce(target, raw)
        except FieldValueError as exc:
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", str(exc), [target.name]) from None
        self._check_reference(definition, target, value)
        self._check_unique(definition, target, value, record_id)
        return target, value

    def apply_update(self, definition: SObjectDef, record_id: str, changes: Record) -> None:
        with self.lock:
            record = self._records[definition.name][record_id]
            record.update(changes)
            _derive(definition, record)
            self._derive_links(definition, record)
            record["SystemModstamp"] = record["LastModifiedDate"] = self.clock.now()

    def check_create(
        self,
        definition: SObjectDef,
        fields: Mapping[str, Any],
        claimed: dict[tuple[str, Value], str] | None = None,
    ) -> Record:
        """Validate an insert as the API does; the complete record, with its new Id.

        `claimed` holds the unique values earlier records of the same request took
        ((field, value) -> their Id): a repeat inside one request fails like one stored.
        """
        with self.lock:
            values: Record = dict.fromkeys(definition.fields)
            values.update(INSERT_DEFAULTS.get(definition.name, {}))
            for name, raw in fields.items():
                target, value = self._written(definition, name, raw, None)
                if target.unique and value is not None and claimed is not None:
                    earlier = claimed.get((target.name, value))
                    if earlier is not None:
                        raise _duplicate(target, earlier)
                values[target.name] = value
            missing = [n for n in REQUIRED_ON_INSERT.get(definition.name, ()) if not values[n]]
            if missing:
                message = f"Required fields are missing: [{', '.join(missing)}]"
                raise RecordError("REQUIRED_FIELD_MISSING", message, missing)
            values["Id"] = self.new_id(definition)
            if claimed is not None:
                for target in definition.fields.values():
                    if target.unique and values[target.name] is not None:
                        claimed[(target.name, values[target.name])] = str(values["Id"])
            return values

    def apply_create(self, definition: SObjectDef, values: Record) -> str:
        """Store a record `check_create` returned, stamped now."""
        with self.lock:
            now = self.clock.now()
            values.update(
                IsDeleted=False, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now
            )
            _derive(definition, values)
            self._derive_links(definition, values)
            record_id = str(values["Id"])
            self._records[definition.name][record_id] = values
            return record_id

    def _check_unique(
        self, definition: SObjectDef, target: FieldDef, value: Value, record_id: str | None
    ) -> None:
        if not target.unique or value is None:
            return
        for other in self._records[definition.name].values():
            if other[target.name] == value and other["Id"] != record_id and not other["IsDeleted"]:
                raise _duplicate(target, str(other["Id"]))

    def _derive_links(self, definition: SObjectDef, values: Record) -> None:
        """Task.AccountId: the account of what (or whom) the task is about."""
        if definition.name != "Task":
            return
        account: Value = None
        what, who = values.get("WhatId"), values.get("WhoId")
        if isinstance(what, str) and what.startswith("001"):
            account = what
        elif isinstance(what, str):
            parent = self._records["Opportunity"].get(what)
            account = parent.get("AccountId") if parent else None
        elif isinstance(who, str):
            contact = self._records["Contact"].get(who)
            account = contact.get("AccountId") if contact else None
        values["AccountId"] = account

    def _check_reference(self, owner: SObjectDef, target: FieldDef, value: Value) -> None:
        if target.reference_to is None or value is None:
            return
        referenced: Record | None = None
        for name in target.references:
            referenced = referenced or self._records.get(name, {}).get(str(value))
        if referenced is None or referenced["IsDeleted"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [target.name]
            )
        if target.name == "OwnerId" and referenced.get("IsActive") is False:
            raise RecordError(
                "INACTIVE_OWNER_OR_USER",
                f"operation performed with inactive user [{value}] as owner of "
                f"{owner.name.lower()}",
                [target.name],
            )

    def _find(self, definition: SObjectDef, record_id: str) -> Record | None:
        canonical = normalize_id(record_id)
        return None if canonical is None else self._records[definition.name].get(canonical)


def _duplicate(target: FieldDef, holder_id: str) -> RecordError:
    return RecordError(
        "DUPLICATE_VALUE",
        f"duplicate value found: {target.name} duplicates value on record with id: {holder_id}",
        [],
    )


def _derive(definition: SObjectDef, values: Record) -> None:
    """Fields Salesforce computes: Opportunity IsClosed/IsWon, Task IsClosed, Names."""
    if definition.name == "Opportunity":
        stage = values.get("StageName")
        closed, won = STAGES.get(str(stage), (False, False))
        if isinstance(stage, str) and stage not in STAGES:
            # Orgs add their own stages; by convention "Closed ..." ones are closed.
            closed, won = stage.startswith("Closed"), stage == "Closed Won"
        values["IsClosed"], values["IsWon"] = closed, won
    elif definition.name == "Task":
        status = values.get("Status")
        values["IsClosed"] = TASK_STATUSES.get(str(status), status == "Completed")
    elif definition.name in {"User", "Contact"}:
        parts = [values.get("FirstName"), values.get("LastName")]
        values["Name"] = " ".join(str(p) for p in parts if p) or None
