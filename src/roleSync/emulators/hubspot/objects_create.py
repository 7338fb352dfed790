"""Creates: `POST /crm/v3/objects/{type}` (201) and `.../batch/create` (201, at most
`batch_max` inputs), each input `{"properties": {...}, "associations": [{"to": {"id"},
"types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]}`.

HubSpot creates have no idempotency key. A client that must create a record once
across retries gives it a value in a property with `hasUniqueValue: true` (the
portal's custom task property `rolesync_key`; contacts' `email` is unique too). A
create repeating a value another record holds is refused 409 CONFLICT with
"... already exists. Existing ID: <id>" and `context.id`, so the client learns which
record it made before. Searching for the value first (`POST .../search`, EQ) works
too, within the search lag.

The emulator checks a whole batch before writing any of it, as HubSpot validates a
batch create: one bad input (unknown or read-only property, invalid value, missing
required property, unknown association type or target, a taken unique value, also
inside the batch) refuses the request and nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roleSync.emulators.http import Request, Response, json_response
from roleSync.emulators.hubspot.associations import target_of
from roleSync.emulators.hubspot.objects import SINGULAR, batch_answer, invalid_message, now_iso
from roleSync.emulators.hubspot.schema import REQUIRED_ON_CREATE, SEARCH_ALWAYS
from roleSync.emulators.hubspot.store import StoredObject
from roleSync.emulators.hubspot.wire import BodyError, detail, error, json_body, validation_error

if TYPE_CHECKING:
    from roleSync.emulators.hubspot.emulator import HubSpotEmulator


@dataclass(slots=True)
class _Checked:
    properties: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)  # (object type, id)


class _RefusedError(Exception):
    def __init__(self, answer: Response) -> None:
        self.answer = answer


def create_object(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    try:
        body = json_body(request)
    except BodyError as exc:
        return validation_error(str(exc))
    try:
        with emu.store.lock:
            checked = _check(emu, kind, body, set())
            (created,) = _write(emu, kind, [checked])
    except _RefusedError as refused:
        return refused.answer
    return json_response(201, created)


def batch_create(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    started = now_iso()
    try:
        inputs = json_body(request).get("inputs")
    except BodyError as exc:
        return validation_error(str(exc))
    limit = emu.config.batch_max
    if not isinstance(inputs, list):
        return validation_error("Invalid input JSON: `inputs` must be a list")
    if len(inputs) > limit:
        return validation_error(f"Too many inputs: {len(inputs)}; the limit is {limit}")
    claimed: set[tuple[str, str]] = set()
    try:
        with emu.store.lock:
            checked = [_check(emu, kind, item, claimed) for item in inputs]
            created = _write(emu, kind, checked)
    except _RefusedError as refused:
        return refused.answer
    answer = batch_answer(created, [], started)
    answer.status = 201
    return answer


def _check(emu: HubSpotEmulator, kind: str, item: Any, claimed: set[tuple[str, str]]) -> _Checked:
    """One input, validated against the store and the batch's earlier inputs."""
    store = emu.store
    properties = item.get("properties") if isinstance(item, dict) else None
    if not isinstance(properties, dict):
        raise _RefusedError(validation_error("Invalid input JSON: each input needs `properties`"))
    problems = store.name_problems(kind, properties) + store.value_problems(kind, properties)
    problems += [
        detail(f"{name} is required", "REQUIRED_PROPERTY", propertyName=[name])
        for name in REQUIRED_ON_CREATE.get(kind, ())
        if properties.get(name) in (None, "")
    ]
    if problems:
        raise _RefusedError(validation_error(invalid_message(problems), problems))
    definitions = store.properties(kind)
    for name, value in properties.items():
        if not definitions[name].has_unique_value or value in (None, ""):
            continue
        text = str(value)
        if (name, text) in claimed:
            raise _RefusedError(
                validation_error(
                    f"Duplicate values of unique property {name} in batch input: {text}"
                )
            )
        claimed.add((name, text))
        holder = store.unique_holder(kind, name, text)
        if holder is not None:
            raise _RefusedError(
                error(
                    409,
                    "CONFLICT",
                    f"{SINGULAR[kind].capitalize()} already exists. Existing ID: {holder}",
                    context={"id": [holder], "propertyName": [name]},
                )
            )
    return _Checked(properties, _links(emu, kind, item.get("associations")))


def _links(emu: HubSpotEmulator, kind: str, associations: Any) -> list[tuple[str, str]]:
    if associations is None:
        return []
    if not isinstance(associations, list):
        raise _RefusedError(validation_error("Invalid input JSON: `associations` must be a list"))
    links: list[tuple[str, str]] = []
    for association in associations:
        to = association.get("to") if isinstance(association, dict) else None
        types = association.get("types") if isinstance(association, dict) else None
        to_id = str(to.get("id", "")) if isinstance(to, dict) else ""
        if not to_id or not isinstance(types, list) or not types:
            raise _RefusedError(
                validation_error("Invalid input JSON: each association needs `to.id` and `types`")
            )
        for spec in types:
            spec = spec if isinstance(spec, dict) else {}
            category, type_id = spec.get("associationCategory"), spec.get("associationTypeId")
            target = target_of(kind, category, type_id)
            if target is None:
                raise _RefusedError(
                    validation_error(
                        f"{category} association type {type_id} is not valid from "
                        f"{SINGULAR[kind]} objects"
                    )
                )
            record = emu.store.record(target, to_id)
            if record is None or record.archived:
                raise _RefusedError(
                    validation_error(
                        f"Could not associate: {SINGULAR[target]} {to_id} does not exist",
                        [
                            detail(
                                "Unknown association target",
                                "INVALID_ASSOCIATION",
                                toObjectId=[to_id],
                            )
                        ],
                    )
                )
            if (target, to_id) not in links:
                links.append((target, to_id))
    return links


def _write(emu: HubSpotEmulator, kind: str, checked: list[_Checked]) -> list[dict[str, Any]]:
    """Create every checked input with one stamp (hold the store's lock)."""
    store = emu.store
    stamp = store.now_ms()
    answers: list[dict[str, Any]] = []
    for each in checked:
        record: StoredObject = store.create(kind, each.properties, stamp)
        for target, to_id in each.links:
            store.link(kind, record.id, target, to_id)
        answers.append(record.as_json([*each.properties, *SEARCH_ALWAYS]))
    return answers
