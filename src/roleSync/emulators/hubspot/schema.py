"""Object types and property definitions of the emulated portal.

Property values travel as strings (or null) in every direction, as in HubSpot: numbers
as decimal text, booleans as "true"/"false", datetimes as ISO text with milliseconds.
The definitions decide how search compares them and which values writes may set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roleSync.emulators.hubspot.wire import iso_ms, parse_time

# Canonical object type -> HubSpot's object type id; both are accepted in paths.
OBJECT_TYPE_IDS = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tasks": "0-27",
    "users": "0-115",
}
_ALIASES = {
    **{name: name for name in OBJECT_TYPE_IDS},
    **{type_id: name for name, type_id in OBJECT_TYPE_IDS.items()},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "task": "tasks",
    "user": "users",
}

PROPERTY_TYPES = frozenset({"string", "number", "date", "datetime", "enumeration", "bool"})
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "number",
        "date",
        "select",
        "radio",
        "checkbox",
        "booleancheckbox",
        "calculation_equation",
        "phonenumber",
        "html",
        "file",
    }
)

DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
DEAL_TYPES = ("newbusiness", "existingbusiness")
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
TASK_PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
TASK_TYPES = ("TODO", "CALL", "EMAIL")
# The portal's custom task property marking roleSync's handoff tasks: unique, so a
# create repeating a marker is refused (see objects_create.py and docs/hubspot.md).
TASK_MARKER = "rolesync_key"
# Properties a create must set, per object type.
REQUIRED_ON_CREATE = {"tasks": ("hs_timestamp",)}

# Properties a list, read or search returns when the request names none.
DEFAULT_PROPERTIES = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": (
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "users": ("hs_email", "hs_given_name", "hs_family_name", "createdate", "hs_lastmodifieddate"),
    "contacts": ("firstname", "lastname", "email", "createdate", "hs_lastmodifieddate",
                 "hs_object_id"),
    "tasks": ("hs_task_subject", "hs_timestamp", "hs_task_status", "hubspot_owner_id",
              "createdate", "hs_lastmodifieddate", "hs_object_id"),
}  # fmt: skip
# Search always adds these, whatever the request asked for.
SEARCH_ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")


def canonical_object(name: str) -> str | None:
    return _ALIASES.get(name.lower())


@dataclass(frozen=True, slots=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    hubspot_defined: bool = True
    read_only: bool = False
    options: tuple[str, ...] = ()
    description: str = ""
    created_ms: int = 0
    display_order: int = -1
    has_unique_value: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The SDK's ModelProperty."""
        stamp = iso_ms(self.created_ms)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [
                {"label": value, "value": value, "displayOrder": order, "hidden": False}
                for order, value in enumerate(self.options)
            ],
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            **self.extra,
        }


def _p(
    name: str,
    label: str,
    kind: str = "string",
    field_type: str = "text",
    group: str = "companyinformation",
    **more: Any,
) -> PropertyDef:
    return PropertyDef(name, label, kind, field_type, group, **more)


def _common(group: str) -> list[PropertyDef]:
    return [
        _p("hs_object_id", "Record ID", "number", "number", group, read_only=True),
        _p("createdate", "Create Date", "datetime", "date", group, read_only=True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group, read_only=True),
    ]


def _owner(group: str) -> PropertyDef:
    # Owner properties are enumerations whose options are the portal's owners; the
    # store checks values against the owners instead of a fixed option list.
    return _p("hubspot_owner_id", "Owner", "enumeration", "select", group)


def default_properties() -> dict[str, dict[str, PropertyDef]]:
    yes_no = ("true", "false")
    companies = [
        *_common("companyinformation"),
        _owner("companyinformation"),
        _p("name", "Name"),
        _p("domain", "Company Domain Name"),
        _p("industry", "Industry"),
        _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
        _p("annualrevenue", "Annual Revenue", "number", "number"),
        _p("country", "Country/Region"),
        # The portal's own custom properties that routing rules read.
        _p("segment", "Segment", "enumeration", "select", hubspot_defined=False,
           options=("Enterprise", "Mid-Market", "SMB")),
        _p("region", "Region", "enumeration", "select", hubspot_defined=False,
           options=("NA", "EMEA", "APAC", "LATAM")),
        _p("tier", "Tier", "enumeration", "select", hubspot_defined=False,
           options=("Tier 1", "Tier 2", "Tier 3")),
        _p("do_not_route", "Do not route", "bool", "booleancheckbox", hubspot_defined=False,
           options=yes_no),
    ]  # fmt: skip
    deals = [
        *_common("dealinformation"),
        _owner("dealinformation"),
        _p("dealname", "Deal Name", group="dealinformation"),
        _p("amount", "Amount", "number", "number", "dealinformation"),
        _p("closedate", "Close Date", "datetime", "date", "dealinformation"),
        _p("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation",
           options=DEAL_STAGES),
        _p("pipeline", "Pipeline", "enumeration", "select", "dealinformation",
           options=("default",)),
        _p("dealtype", "Deal Type", "enumeration", "radio", "dealinformation", options=DEAL_TYPES),
        _p("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", "dealinformation",
           read_only=True, options=yes_no),
        _p("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", "dealinformation",
           read_only=True, options=yes_no),
    ]  # fmt: skip
    users = [
        *_common("userinformation"),
        _p("hs_internal_user_id", "User ID", "number", "number", "userinformation",
           read_only=True),
        _p("hs_email", "Email", group="userinformation", read_only=True),
        _p("hs_given_name", "First Name", group="userinformation"),
        _p("hs_family_name", "Last Name", group="userinformation"),
        _p("hs_job_title", "Job Title", group="userinformation"),
    ]  # fmt: skip
    contacts = [
        *_common("contactinformation"),
        _owner("contactinformation"),
        _p("firstname", "First Name", group="contactinformation"),
        _p("lastname", "Last Name", group="contactinformation"),
        _p("email", "Email", group="contactinformation", has_unique_value=True),
        _p("jobtitle", "Job Title", group="contactinformation"),
        _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation",
           options=LIFECYCLE_STAGES),
    ]  # fmt: skip
    tasks = [
        *_common("task"),
        _owner("task"),
        _p("hs_timestamp", "Due date", "datetime", "date", "task"),
        _p("hs_task_subject", "Task Title", group="task"),
        _p("hs_task_body", "Notes", group="task", field_type="html"),
        _p("hs_task_status", "Task Status", "enumeration", "select", "task",
           options=TASK_STATUSES),
        _p("hs_task_priority", "Priority", "enumeration", "select", "task",
           options=TASK_PRIORITIES),
        _p("hs_task_type", "Task Type", "enumeration", "select", "task", options=TASK_TYPES),
        _p("hs_task_is_completed", "Completed", "number", "number", "task", read_only=True),
        _p(TASK_MARKER, "roleSync handoff key", group="task", hubspot_defined=False,
           has_unique_value=True),
    ]  # fmt: skip
    return {
        "contacts": {p.name: p for p in contacts},
        "companies": {p.name: p for p in companies},
        "deals": {p.name: p for p in deals},
        "tasks": {p.name: p for p in tasks},
        "users": {p.name: p for p in users},
    }


def value_problem(definition: PropertyDef, value: str) -> str | None:
    """Why HubSpot would refuse `value` for this property, or None when it is fine."""
    if value == "":
        return None  # an empty string clears the property
    if definition.type == "number":
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a valid number"
    elif definition.type == "bool":
        if value.lower() not in {"true", "false"}:
            return f"{value!r} is not a valid boolean (true or false)"
    elif definition.type in {"date", "datetime"}:
        if parse_time(value) is None:
            return f"{value!r} is not a valid {definition.type}"
    elif definition.type == "enumeration" and definition.options:
        # Multiple checkboxes hold several options in one value, separated by ";".
        chosen = value.split(";") if definition.field_type == "checkbox" else [value]
        if any(part not in definition.options for part in chosen):
            return f"{value!r} was not one of the allowed options: {list(definition.options)}"
    return None
