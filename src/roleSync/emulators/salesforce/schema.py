"""The emulated org's sObject fields, record Ids and value conversions.

Values are held as Python values (str, bool, int/float, date, aware datetime) so
that filters and sorting compare natively; they are turned into Salesforce's JSON
and CSV spellings only on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

Value = str | bool | int | float | date | datetime | None


class FieldType(StrEnum):
    """Salesforce describe types the emulator knows (a subset)."""

    ID = "id"
    REFERENCE = "reference"
    STRING = "string"
    PICKLIST = "picklist"
    # A multi-select picklist: its values in one text separated by ";" ("EMEA;APAC").
    MULTIPICKLIST = "multipicklist"
    EMAIL = "email"
    BOOLEAN = "boolean"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    INT = "int"
    DATE = "date"
    DATETIME = "datetime"


TEXT_TYPES = frozenset(
    {FieldType.STRING, FieldType.PICKLIST, FieldType.MULTIPICKLIST, FieldType.EMAIL}
)
ID_TYPES = frozenset({FieldType.ID, FieldType.REFERENCE})
NUMBER_TYPES = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT, FieldType.INT})


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type: FieldType
    updateable: bool = True
    # Polymorphic lookups (Task.WhatId) name several objects, separated by "|".
    reference_to: str | None = None
    # An External Id field marked Unique: inserts repeating a value fail DUPLICATE_VALUE.
    unique: bool = False

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(self.reference_to.split("|")) if self.reference_to else ()


@dataclass(slots=True)
class SObjectDef:
    name: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    # Lower-cased name -> canonical name: SOQL and JSON field names ignore case.
    by_lower: dict[str, str] = field(default_factory=dict)

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name] = definition
        self.by_lower[definition.name.lower()] = definition.name

    def resolve(self, name: str) -> FieldDef | None:
        canonical = self.by_lower.get(name.lower())
        return None if canonical is None else self.fields[canonical]


# Role-metric destinations on User (custom fields), one per roleSync metric plus the
# role itself and the day the metrics were computed for. Empty in a seeded org: it is
# roleSync that fills them.
USER_METRIC_FIELDS: tuple[tuple[str, FieldType], ...] = (
    ("Sales_Role__c", FieldType.PICKLIST),
    ("Won_Deals__c", FieldType.DOUBLE),
    ("New_Business_Won_Count__c", FieldType.DOUBLE),
    ("New_Business_Won_Amount__c", FieldType.CURRENCY),
    ("Expansion_Won_Amount__c", FieldType.CURRENCY),
    ("Renewal_Won_Amount__c", FieldType.CURRENCY),
    ("Won_Amount__c", FieldType.CURRENCY),
    ("New_Business_Share__c", FieldType.PERCENT),
    ("Win_Rate__c", FieldType.PERCENT),
    ("Avg_Sales_Cycle_Days__c", FieldType.DOUBLE),
    ("Accounts_Owned__c", FieldType.DOUBLE),
    ("Customer_Accounts_Owned__c", FieldType.DOUBLE),
    ("Managed_Revenue__c", FieldType.CURRENCY),
    ("Renewal_Won_Count__c", FieldType.DOUBLE),
    ("Renewal_Closed_Count__c", FieldType.DOUBLE),
    ("Renewal_Rate__c", FieldType.PERCENT),
    ("Starting_Revenue__c", FieldType.CURRENCY),
    ("Churned_Accounts__c", FieldType.DOUBLE),
    ("Churned_Amount__c", FieldType.CURRENCY),
    ("Contracted_Amount__c", FieldType.CURRENCY),
    ("Book_Expansion_Amount__c", FieldType.CURRENCY),
    ("Gross_Revenue_Retention__c", FieldType.PERCENT),
    ("Net_Revenue_Retention__c", FieldType.PERCENT),
    ("Expansion_Rate__c", FieldType.PERCENT),
    ("New_Logos__c", FieldType.DOUBLE),
    ("New_Business_Win_Rate__c", FieldType.PERCENT),
    ("Avg_New_Business_Deal_Size__c", FieldType.CURRENCY),
    ("New_Business_Sales_Cycle_Days__c", FieldType.DOUBLE),
    ("Role_Metrics_As_Of__c", FieldType.DATE),
)

_T = FieldType
_COMMON: tuple[FieldDef, ...] = (
    FieldDef("Id", _T.ID, updateable=False),
    FieldDef("IsDeleted", _T.BOOLEAN, updateable=False),
    FieldDef("CreatedDate", _T.DATETIME, updateable=False),
    FieldDef("LastModifiedDate", _T.DATETIME, updateable=False),
    FieldDef("SystemModstamp", _T.DATETIME, updateable=False),
)
_OBJECTS: dict[str, tuple[str, tuple[FieldDef, ...]]] = {
    "User": (
        "005",
        (
            FieldDef("Username", _T.STRING),
            FieldDef("Name", _T.STRING, updateable=False),
            FieldDef("FirstName", _T.STRING),
            FieldDef("LastName", _T.STRING),
            FieldDef("Email", _T.EMAIL),
            FieldDef("Title", _T.STRING),
            FieldDef("Department", _T.STRING),
            FieldDef("IsActive", _T.BOOLEAN),
            FieldDef("ManagerId", _T.REFERENCE, reference_to="User"),
            *(FieldDef(name, kind) for name, kind in USER_METRIC_FIELDS),
            # Territory fields an org adds to User (profile `salesforce.owner_fields`):
            # empty in a seeded org, set by an admin (or a test) per seller.
            FieldDef("Sales_Region__c", _T.PICKLIST),
            FieldDef("Sales_Regions__c", _T.MULTIPICKLIST),
        ),
    ),
    "Account": (
        "001",
        (
            FieldDef("Name", _T.STRING),
            FieldDef("OwnerId", _T.REFERENCE, reference_to="User"),
            FieldDef("Type", _T.PICKLIST),
            FieldDef("Industry", _T.PICKLIST),
            FieldDef("AnnualRevenue", _T.CURRENCY),
            FieldDef("BillingCountry", _T.STRING),
            FieldDef("Segment__c", _T.PICKLIST),
            FieldDef("Region__c", _T.PICKLIST),
            FieldDef("Tier__c", _T.PICKLIST),
            FieldDef("Do_Not_Route__c", _T.BOOLEAN),
        ),
    ),
    "Opportunity": (
        "006",
        (
            FieldDef("Name", _T.STRING),
            FieldDef("AccountId", _T.REFERENCE, reference_to="Account"),
            FieldDef("OwnerId", _T.REFERENCE, reference_to="User"),
            FieldDef("Type", _T.PICKLIST),
            FieldDef("StageName", _T.PICKLIST),
            # Derived from StageName, as in Salesforce.
            FieldDef("IsClosed", _T.BOOLEAN, updateable=False),
            FieldDef("IsWon", _T.BOOLEAN, updateable=False),
            FieldDef("Amount", _T.CURRENCY),
            FieldDef("Probability", _T.PERCENT),
            FieldDef("CloseDate", _T.DATE),
        ),
    ),
    "Contact": (
        "003",
        (
            FieldDef("FirstName", _T.STRING),
            FieldDef("LastName", _T.STRING),
            FieldDef("Name", _T.STRING, updateable=False),
            FieldDef("Email", _T.EMAIL),
            FieldDef("Title", _T.STRING),
            FieldDef("AccountId", _T.REFERENCE, reference_to="Account"),
            FieldDef("OwnerId", _T.REFERENCE, reference_to="User"),
        ),
    ),
    "Task": (
        "00T",
        (
            FieldDef("Subject", _T.STRING),
            FieldDef("Description", _T.STRING),
            FieldDef("WhatId", _T.REFERENCE, reference_to="Account|Opportunity"),
            FieldDef("WhoId", _T.REFERENCE, reference_to="Contact"),
            FieldDef("OwnerId", _T.REFERENCE, reference_to="User"),
            FieldDef("ActivityDate", _T.DATE),
            FieldDef("Status", _T.PICKLIST),
            FieldDef("Priority", _T.PICKLIST),
            # Derived, as in Salesforce: IsClosed from Status, AccountId from WhatId/WhoId.
            FieldDef("IsClosed", _T.BOOLEAN, updateable=False),
            FieldDef("AccountId", _T.REFERENCE, updateable=False, reference_to="Account"),
            # A custom External Id field (Unique, case sensitive) the org admin adds so a
            # client can create each task exactly once: see docs/salesforce.md.
            FieldDef("RoleSync_Key__c", _T.STRING, unique=True),
        ),
    ),
}

# Task.Status -> IsClosed: the stock task statuses (orgs may add their own).
TASK_STATUSES: dict[str, bool] = {
    "Not Started": False,
    "In Progress": False,
    "Waiting on someone else": False,
    "Deferred": False,
    "Completed": True,
}
# Required picklists Salesforce fills with the org's defaults when an insert omits them.
INSERT_DEFAULTS: dict[str, dict[str, str]] = {
    "Task": {"Status": "Not Started", "Priority": "Normal"},
}
# Fields an insert must give (REQUIRED_FIELD_MISSING otherwise).
REQUIRED_ON_INSERT: dict[str, tuple[str, ...]] = {
    "Contact": ("LastName",),
    "Account": ("Name",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}

# StageName -> (IsClosed, IsWon): the stock sales process.
STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}


def default_schema() -> dict[str, SObjectDef]:
    """A fresh, independently extendable copy of the emulated org's objects."""
    schema: dict[str, SObjectDef] = {}
    for name, (prefix, fields) in _OBJECTS.items():
        sobject = SObjectDef(name, prefix)
        for definition in (*_COMMON, *fields):
            sobject.add(definition)
        schema[name] = sobject
    return schema


def resolve_sobject(schema: Mapping[str, SObjectDef], name: str) -> SObjectDef | None:
    lowered = name.lower()
    for sobject in schema.values():
        if sobject.name.lower() == lowered:
            return sobject
    return None


# --- Ids -----------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{18}")
# The pod/instance part of every emulated Id: "EM" marks records made here.
_POD = "EM0"


def id_suffix(id15: str) -> str:
    """Salesforce's case-safe suffix: one bit per upper-case letter, 5 chars at a time."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_CHARS[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    id15 = prefix + _POD + digits.rjust(9, "0")
    return id15 + id_suffix(id15)


def normalize_id(text: str) -> str | None:
    """The 18-character form of a 15- or 18-character Id; None when malformed."""
    if _ID18.fullmatch(text):
        # The suffix only restores case-safety; the first 15 characters are the Id.
        return text[:15] + id_suffix(text[:15])
    if _ID15.fullmatch(text):
        return text + id_suffix(text)
    return None


# --- value conversion --------------------------------------------------------------------


class FieldValueError(ValueError):
    """A value that does not fit its field (reported per record, not as a crash)."""


_DATETIME_IN = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?"
)


def parse_datetime(text: str) -> datetime:
    match = _DATETIME_IN.fullmatch(text.strip())
    if not match:
        raise FieldValueError(f"not a dateTime: {text!r}")
    day, clock, fraction, zone = match.groups()
    zone = zone or "Z"
    if zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    iso = f"{day}T{clock}{(fraction or '')[:7]}{'+00:00' if zone == 'Z' else zone}"
    try:
        return datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        raise FieldValueError(f"not a dateTime: {text!r}") from None


def coerce(definition: FieldDef, raw: Any) -> Value:
    """A JSON or CSV value turned into the field's Python value."""
    if raw is None or (isinstance(raw, str) and raw == "" and definition.type not in TEXT_TYPES):
        return None
    kind = definition.type
    if kind in TEXT_TYPES:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise FieldValueError(f"{definition.name}: expected text")
        return str(raw) if str(raw) != "" else None
    if kind in ID_TYPES:
        normalized = normalize_id(raw) if isinstance(raw, str) else None
        if normalized is None:
            raise FieldValueError(f"{definition.name}: id value of incorrect type: {raw}")
        return normalized
    if kind is FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"true", "false"}:
            return raw.lower() == "true"
        raise FieldValueError(f"{definition.name}: expected a boolean")
    if kind in NUMBER_TYPES:
        return _number(definition, raw)
    if kind is FieldType.DATE:
        try:
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise FieldValueError(f"{definition.name}: expected a date (YYYY-MM-DD)") from None
    if isinstance(raw, datetime):
        return raw.astimezone(UTC)
    return parse_datetime(str(raw))


def _number(definition: FieldDef, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise FieldValueError(f"{definition.name}: expected a number")
    if isinstance(raw, (int, float)):
        return raw
    try:
        number = float(str(raw))
    except ValueError:
        raise FieldValueError(f"{definition.name}: expected a number") from None
    return int(number) if number.is_integer() and definition.type is FieldType.INT else number


def format_datetime(value: datetime) -> str:
    """Salesforce's JSON spelling: milliseconds and a +0000 offset."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def to_json(value: Value) -> str | bool | int | float | None:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_csv(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    json_value = to_json(value)
    return str(json_value)
