"""Which resource a request is for: its counter kind, its handler, and how it is limited.

Counter kinds: `{object}_list`, `{object}_get`, `{object}_update` (single PATCH),
`{object}_search`, `{object}_batch_read`, `{object}_batch_update`, `{object}_create`
(POST) and `{object}_batch_create` for contacts, companies, deals, tasks and users;
owners_list, owners_get, properties_list, properties_get, properties_create,
assoc_batch_read, oauth_token; exports_start, exports_status, exports_download
(exports.py); unknown_object (400), method_not_allowed (405), not_found (404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roleSync.emulators.http import Request, Response
from roleSync.emulators.hubspot import exports, objects, objects_create, resources
from roleSync.emulators.hubspot.schema import canonical_object
from roleSync.emulators.hubspot.wire import error

if TYPE_CHECKING:
    from roleSync.emulators.hubspot.emulator import HubSpotEmulator

Handler = Callable[["HubSpotEmulator", Request], Response]


@dataclass(frozen=True, slots=True)
class Route:
    kind: str
    handle: Handler
    api: bool = True  # False: the OAuth token endpoint (no auth, no limits, no faults)
    search: bool = False  # counts against the search limit too
    write: bool = False


_OBJECT = r"(?P<object>[A-Za-z0-9_-]+)"
# (pattern, {method: (suffix, search, write)}); objects' kinds are "{object}_{suffix}".
_OBJECT_ROUTES: list[tuple[re.Pattern[str], dict[str, tuple[str, bool, bool]]]] = [
    (re.compile(rf"/crm/v3/objects/{_OBJECT}/search/?"), {"POST": ("search", True, False)}),
    (
        re.compile(rf"/crm/v3/objects/{_OBJECT}/batch/read/?"),
        {"POST": ("batch_read", False, False)},
    ),
    (
        re.compile(rf"/crm/v3/objects/{_OBJECT}/batch/update/?"),
        {"POST": ("batch_update", False, True)},
    ),
    (
        re.compile(rf"/crm/v3/objects/{_OBJECT}/batch/create/?"),
        {"POST": ("batch_create", False, True)},
    ),
    (
        re.compile(rf"/crm/v3/objects/{_OBJECT}/?"),
        {"GET": ("list", False, False), "POST": ("create", False, True)},
    ),
    (
        re.compile(rf"/crm/v3/objects/{_OBJECT}/(?P<id>[^/]+)/?"),
        {"GET": ("get", False, False), "PATCH": ("update", False, True)},
    ),
]
_OWNERS = re.compile(r"/crm/v3/owners/?")
_OWNER = re.compile(r"/crm/v3/owners/(?P<id>[^/]+)/?")
_PROPERTIES = re.compile(rf"/crm/v3/properties/{_OBJECT}/?")
_PROPERTY = re.compile(rf"/crm/v3/properties/{_OBJECT}/(?P<name>[^/]+)/?")
_ASSOCIATIONS = re.compile(r"/crm/v4/associations/(?P<source>[^/]+)/(?P<target>[^/]+)/batch/read/?")
_TOKEN = re.compile(r"/oauth/v1/token/?")


ObjectHandler = Callable[["HubSpotEmulator", Request, str, str], Response]
_OBJECT_HANDLERS: dict[str, ObjectHandler] = {
    "search": lambda emu, req, kind, _: objects.search_objects(emu, req, kind),
    "batch_read": lambda emu, req, kind, _: objects.batch_read(emu, req, kind),
    "batch_update": lambda emu, req, kind, _: objects.batch_update(emu, req, kind),
    "list": lambda emu, req, kind, _: objects.list_objects(emu, req, kind),
    "get": objects.get_object,
    "update": objects.update_object,
    "create": lambda emu, req, kind, _: objects_create.create_object(emu, req, kind),
    "batch_create": lambda emu, req, kind, _: objects_create.batch_create(emu, req, kind),
}


def _bind(act: ObjectHandler, kind: str, record_id: str) -> Handler:
    def handle(emu: HubSpotEmulator, request: Request) -> Response:
        return act(emu, request, kind, record_id)

    return handle


def _unknown(name: str) -> Route:
    return Route("unknown_object", lambda emu, request: resources.unknown_object(name))


def _not_allowed(request: Request) -> Route:
    def refuse(emu: HubSpotEmulator, request: Request) -> Response:
        message = f"Method {request.method} is not allowed on {request.path}"
        return error(405, "VALIDATION_ERROR", message)

    return Route("method_not_allowed", refuse)


not_allowed = _not_allowed


def _object_route(request: Request) -> Route | None:
    for pattern, methods in _OBJECT_ROUTES:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        if request.method not in methods:
            return _not_allowed(request)
        name = match["object"]
        kind = canonical_object(name)
        if kind is None:
            return _unknown(name)
        suffix, search, write = methods[request.method]
        record_id = match.groupdict().get("id") or ""
        handle = _bind(_OBJECT_HANDLERS[suffix], kind, record_id)
        return Route(f"{kind}_{suffix}", handle, search=search, write=write)
    return None


def resolve(request: Request) -> Route:
    path, method = request.path, request.method
    if _TOKEN.fullmatch(path):
        if method != "POST":
            return _not_allowed(request)
        return Route("oauth_token", resources.oauth_token, api=False)
    found = _object_route(request)
    if found is not None:
        return found
    if _OWNERS.fullmatch(path):
        if method != "GET":
            return _not_allowed(request)
        return Route("owners_list", resources.list_owners)
    if match := _OWNER.fullmatch(path):
        if method != "GET":
            return _not_allowed(request)
        owner_id = match["id"]
        return Route("owners_get", lambda emu, req: resources.get_owner(emu, req, owner_id))
    if match := _PROPERTIES.fullmatch(path):
        kind = canonical_object(match["object"])
        if method not in {"GET", "POST"}:
            return _not_allowed(request)
        if kind is None:
            return _unknown(match["object"])
        if method == "GET":
            return Route(
                "properties_list", lambda emu, req: resources.list_properties(emu, req, kind)
            )
        return Route(
            "properties_create",
            lambda emu, req: resources.create_property(emu, req, kind),
            write=True,
        )
    if match := _PROPERTY.fullmatch(path):
        owner_kind, name = canonical_object(match["object"]), match["name"]
        if method != "GET":
            return _not_allowed(request)
        if owner_kind is None:
            return _unknown(match["object"])
        return Route(
            "properties_get",
            lambda emu, req: resources.get_property(emu, req, owner_kind, name),
        )
    if match := _ASSOCIATIONS.fullmatch(path):
        source, target = canonical_object(match["source"]), canonical_object(match["target"])
        if method != "POST":
            return _not_allowed(request)
        if source is None or target is None:
            return _unknown(match["source"] if source is None else match["target"])
        return Route(
            "assoc_batch_read",
            lambda emu, req: resources.batch_read_associations(emu, req, source, target),
        )

    if (exported := exports.route(request)) is not None:
        return exported

    def missing(emu: HubSpotEmulator, req: Request) -> Response:
        return error(404, "OBJECT_NOT_FOUND", f"No route for {req.method} {req.path}")

    return Route("not_found", missing)
