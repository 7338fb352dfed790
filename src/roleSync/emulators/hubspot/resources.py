"""Owners, properties, v4 association batch reads and the OAuth token endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from roleSync.emulators.http import Request, Response, json_response
from roleSync.emulators.hubspot.associations import v4_types
from roleSync.emulators.hubspot.schema import FIELD_TYPES, PROPERTY_TYPES, PropertyDef
from roleSync.emulators.hubspot.store import Owner
from roleSync.emulators.hubspot.wire import (
    BodyError,
    body_inputs,
    bool_param,
    correlation_id,
    error,
    int_param,
    iso_ms,
    json_body,
    to_ms,
    validation_error,
)

if TYPE_CHECKING:
    from roleSync.emulators.hubspot.emulator import HubSpotEmulator

SINGULAR = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "tasks": "task",
    "users": "user",
}


# --- owners ------------------------------------------------------------------------------


def list_owners(emu: HubSpotEmulator, request: Request) -> Response:
    cap = emu.config.owners_page_max
    limit = int_param(request, "limit")
    limit = 100 if limit is None else limit
    if isinstance(limit, str) or not 1 <= limit <= cap:
        return validation_error(f"limit must be a whole number from 1 to {cap}")
    after = request.param("after") or ""
    if after and not after.isdigit():
        return validation_error(f"Invalid after: {after!r}")
    archived = bool_param(request, "archived")
    if archived is None:
        return validation_error("archived must be true or false")
    email = (request.param("email") or "").lower()
    # archived=true lists only archived owners, as HubSpot does.
    chosen = [
        o
        for o in emu.store.owners(archived=archived)
        if (not after or int(o.id) >= int(after)) and (not email or o.email.lower() == email)
    ]
    null_user = emu.config.archived_owner_user_id_null
    payload: dict[str, Any] = {
        "results": [o.as_json(archived_user_null=null_user) for o in chosen[:limit]]
    }
    if len(chosen) > limit:
        next_id = chosen[limit].id
        link = f"{emu.url}/crm/v3/owners/?limit={limit}&after={next_id}"
        payload["paging"] = {"next": {"after": next_id, "link": link}}
    return json_response(200, payload)


def get_owner(emu: HubSpotEmulator, request: Request, owner_id: str) -> Response:
    archived = bool_param(request, "archived")
    if archived is None:
        return validation_error("archived must be true or false")
    by = request.param("idProperty") or "id"
    found: Owner | None = None
    if by == "userId":
        matches = [o for o in emu.store.owners(archived=archived) if str(o.user_id) == owner_id]
        found = matches[0] if matches else None
    elif by == "id":
        found = emu.store.owner(owner_id)
    else:
        return validation_error("idProperty must be id or userId")
    if found is None or found.archived != archived:
        return error(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found")
    null_user = emu.config.archived_owner_user_id_null
    return json_response(200, found.as_json(archived_user_null=null_user))


# --- properties --------------------------------------------------------------------------


def unknown_object(name: str) -> Response:
    return validation_error(f"Unable to infer object type from: {name}")


def list_properties(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    definitions = emu.store.properties(kind).values()
    return json_response(200, {"results": [d.as_json() for d in definitions]})


def get_property(emu: HubSpotEmulator, request: Request, kind: str, name: str) -> Response:
    definition = emu.store.properties(kind).get(name)
    if definition is None:
        return error(404, "OBJECT_NOT_FOUND", f"Property {name} does not exist")
    return json_response(200, definition.as_json())


def create_property(emu: HubSpotEmulator, request: Request, kind: str) -> Response:
    try:
        body = json_body(request)
    except BodyError as exc:
        return validation_error(str(exc))
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return validation_error(f"Missing required fields: {missing}")
    name, kind_of_value = str(body["name"]), str(body["type"])
    if kind_of_value not in PROPERTY_TYPES:
        return validation_error(f"Invalid type {kind_of_value!r}: one of {sorted(PROPERTY_TYPES)}")
    if str(body["fieldType"]) not in FIELD_TYPES:
        return validation_error(f"Invalid fieldType {body['fieldType']!r}")
    if not name.replace("_", "").isalnum() or not name[0].isalpha() or name != name.lower():
        return validation_error(
            f"Invalid property name {name!r}: lower-case letters, digits and underscores, "
            "starting with a letter"
        )
    options = tuple(str(o.get("value")) for o in body.get("options") or [] if isinstance(o, dict))
    definition = PropertyDef(
        name, str(body["label"]), kind_of_value, str(body["fieldType"]), str(body["groupName"]),
        hubspot_defined=False, options=options, description=str(body.get("description") or ""),
        created_ms=emu.store.now_ms(), has_unique_value=bool(body.get("hasUniqueValue")),
    )  # fmt: skip
    try:
        emu.store.define_property(kind, definition)
    except ValueError as exc:
        return error(409, "OBJECT_ALREADY_EXISTS", str(exc), context={"name": [name]})
    return json_response(201, definition.as_json())


# --- associations v4 ---------------------------------------------------------------------


def batch_read_associations(
    emu: HubSpotEmulator, request: Request, source: str, target: str
) -> Response:
    started = _stamp(emu)
    try:
        inputs = body_inputs(json_body(request), emu.config.associations_batch_max)
    except BodyError as exc:
        return validation_error(str(exc))
    specs = v4_types(source, target)
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = emu.store
    with store.lock:
        for item in inputs:
            from_id = str(item["id"])
            record = store.record(source, from_id)
            others: list[str] = []
            if record is not None and not record.archived and specs:
                others = store.associated(source, from_id, target)
            if not others:
                errors.append(_no_associations(source, target, from_id))
                continue
            offset = _offset(item.get("after"))
            page = others[offset : offset + emu.config.associations_page]
            result: dict[str, Any] = {
                "from": {"id": from_id},
                # HubSpot's spec (MultiAssociatedObjectWithLabel) types toObjectId as a
                # string; the live API has been seen sending a number, which adapters
                # accept too.
                "to": [{"toObjectId": str(o), "associationTypes": specs} for o in page],
            }
            if offset + len(page) < len(others):
                result["paging"] = {"next": {"after": str(offset + len(page))}}
            results.append(result)
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": _stamp(emu),
    }
    if errors:
        payload["numErrors"] = len(errors)
        payload["errors"] = errors
    return json_response(207 if errors else 200, payload)


def _offset(after: Any) -> int:
    try:
        return max(0, int(str(after))) if after not in (None, "") else 0
    except ValueError:
        return 0


def _no_associations(source: str, target: str, from_id: str) -> dict[str, Any]:
    # Ids without associations (or that do not exist) come back as errors, not as
    # empty results: an adapter must read them as "no associations".
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {target} is associated with {SINGULAR[source]} {from_id}.",
        "context": {"fromObjectId": [from_id]},
        "links": {},
        "errors": [],
    }


def _stamp(emu: HubSpotEmulator) -> str:
    return iso_ms(to_ms(emu.store.clock.peek()))


# --- OAuth -------------------------------------------------------------------------------


def oauth_token(emu: HubSpotEmulator, request: Request) -> Response:
    """POST /oauth/v1/token, grant_type=refresh_token: a new access token."""
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    config = emu.config

    def refuse(status: str, message: str) -> Response:
        # `status` names the problem as the live API does (BAD_REFRESH_TOKEN, ...); the
        # spec's Error model requires `category` as well.
        body = {
            "status": status,
            "message": message,
            "correlationId": correlation_id(),
            "category": "VALIDATION_ERROR",
        }
        return json_response(400, body)

    if form.get("grant_type") != "refresh_token":
        return refuse("BAD_GRANT_TYPE", "grant_type must be refresh_token")
    if form.get("client_id") != config.client_id:
        return refuse("BAD_CLIENT_ID", "missing or unknown client id")
    if form.get("client_secret") != config.client_secret:
        return refuse("BAD_CLIENT_SECRET", "missing or invalid client secret")
    if form.get("refresh_token") != config.refresh_token:
        return refuse("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
    return json_response(
        200,
        {
            "token_type": "bearer",
            "refresh_token": config.refresh_token,
            "access_token": emu.issue_token(),
            "expires_in": int(config.token_lifetime_seconds),
            # The spec's token answer is a oneOf on token_use ("access_token" here: a
            # refresh-token grant; "client_credentials" answers carry no refresh token).
            "token_use": "access_token",
        },
    )
