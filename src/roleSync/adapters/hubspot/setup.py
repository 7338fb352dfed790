"""`rolesync setup`: create the properties a HubSpot profile writes to, idempotently.

Role metrics need one property each on the destination object (users or companies);
handoff tasks need the unique task property `rolesync_key` (their exactly-once marker);
the lock property (`do not route`) is created on companies if the profile names one and
the portal lacks it, unchecked everywhere, so nothing changes until someone ticks it.
The properties roleSync only reads (segment, region, tier, lifecycle, extras, deal type)
are reported when missing, never created: an empty property would only hide the typo.

List first, then create only the missing (201); a 409 (created meanwhile by someone
else, or by an earlier attempt whose answer was lost) counts as already there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.resilience import RefusedError
from roleSync.model import Role
from roleSync.profile import Profile

STOCK_GROUPS = {
    "companies": "companyinformation",
    "users": "userinformation",
    "deals": "dealinformation",
    "tasks": "taskinformation",
}
# The task property marking roleSync's handoff tasks (routing.yaml `tasks`): unique, so
# the adapter finds a task it created by its key and never creates it twice.
TASK_MARKER = "rolesync_key"


@dataclass(frozen=True, slots=True)
class PropertySpec:
    object_type: str
    name: str
    label: str
    type: str
    field_type: str
    options: tuple[str, ...] = ()
    purpose: str = ""
    unique: bool = False

    def body(self, group: str) -> dict[str, object]:
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": group,
            "description": f"Written by roleSync: {self.purpose}.",
        }
        if self.unique:
            body["hasUniqueValue"] = True
        if self.options:
            body["options"] = [
                {"label": o.capitalize(), "value": o, "displayOrder": n, "hidden": False}
                for n, o in enumerate(self.options)
            ]
        return body


@dataclass(slots=True)
class SetupReport:
    created: list[PropertySpec] = field(default_factory=list)
    present: list[PropertySpec] = field(default_factory=list)
    # (object type, property, what reads it): read by roleSync, absent from the portal.
    missing_inputs: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"created  {s.object_type}.{s.name} ({s.type}): {s.purpose}" for s in self.created]
        out += [f"present  {s.object_type}.{s.name}: {s.purpose}" for s in self.present]
        out += [
            f"missing  {o}.{p}: read as {what}; create it in HubSpot, or map it to null"
            for o, p, what in self.missing_inputs
        ]
        out.append(f"{len(self.created)} created, {len(self.present)} already there")
        return out


def wanted(profile: Profile) -> list[PropertySpec]:
    """The properties roleSync writes to under this profile."""
    section = profile.hubspot
    assert section is not None
    specs: list[PropertySpec] = []
    if profile.metrics.write:
        target = profile.metrics_destination
        for key, name in profile.metrics.fields.items():
            label = "roleSync " + key.replace("_", " ")
            if key == "role":
                roles = tuple(r.value for r in Role)
                specs.append(
                    PropertySpec(target, name, label, "enumeration", "select", roles, "seller role")
                )
            else:
                specs.append(
                    PropertySpec(target, name, label, "number", "number", (), f"role metric {key}")
                )
    lock = section.properties.lock
    if lock:
        specs.append(
            PropertySpec(
                "companies", lock, "Do not route", "bool", "booleancheckbox", ("true", "false"),
                "roleSync never moves a company with this ticked",
            )
        )  # fmt: skip
    # Needed only by handoff blocks with `tasks`, which the profile cannot see: one
    # property, harmless without them, so a later rule edit does not need setup again.
    specs.append(
        PropertySpec(
            "tasks", TASK_MARKER, "roleSync handoff key", "string", "text", (),
            "marks each handoff task roleSync created, so none is created twice", unique=True,
        )
    )  # fmt: skip
    return specs


def _inputs(profile: Profile) -> list[tuple[str, str, str]]:
    section = profile.hubspot
    assert section is not None
    mapped = section.properties
    named = [
        ("companies", mapped.segment, "account.segment"),
        ("companies", mapped.region, "account.region"),
        ("companies", mapped.tier, "account.tier"),
        ("companies", mapped.lifecycle, "account lifecycle"),
        ("deals", section.deal_type_property, "deal kind"),
    ]
    named += [("companies", prop, f"account.fields.{name}") for name, prop in mapped.extra.items()]
    return [(o, p, what) for o, p, what in named if p]


def setup_portal(client: HubSpotClient, profile: Profile) -> SetupReport:
    section = profile.hubspot
    assert section is not None
    report = SetupReport()
    specs = wanted(profile)
    inputs = _inputs(profile)
    objects = sorted({s.object_type for s in specs} | {o for o, _, _ in inputs})
    existing = {o: {str(p.get("name")) for p in client.properties(o)} for o in objects}
    for spec in specs:
        if spec.name in existing[spec.object_type]:
            report.present.append(spec)
            continue
        group = section.property_group or STOCK_GROUPS[spec.object_type]
        try:
            client.create_property(spec.object_type, spec.body(group))
        except RefusedError as exc:
            if exc.status != 409:
                raise
            report.present.append(spec)
        else:
            report.created.append(spec)
        existing[spec.object_type].add(spec.name)
    report.missing_inputs = [(o, p, w) for o, p, w in inputs if p not in existing[o]]
    return report
