"""sObject Collections retrieve: many records of one type by Id, in one request.

    POST /services/data/vXX.X/composite/sobjects/{sObject}   {"ids": [...], "fields": [...]}
    GET  /services/data/vXX.X/composite/sobjects/{sObject}?ids=a,b&fields=x,y

What Salesforce documents (REST API Developer Guide, "Get Records With a Request Body
Using sObject Collections" and "Get Records Using sObject Collections", the pages of
API v58.0 to v66.0 read the same; the resource exists since v42.0), and this serves:

- `ids` and `fields` are both required; every id must be of the path's object type;
- POST takes up to 2,000 ids; GET is bounded only by the URL (about 800 ids before
  414 URI Too Long);
- the answer is 200 with a JSON array holding one element per id, in request order:
  the record (`attributes` {type, url}, then the requested fields under their API
  spelling: the documented example asks for `id, name` and gets `Id`, `Name`), or
  `null` when the id is invalid or the record is not accessible to the user;
- an invalid field name, or a field the user may not read: 400 Bad Request.

Not documented, modelled here on Salesforce's neighbouring resources (an adapter must
not depend on these details; tests of the emulator pin them so they stay put):

- error bodies are Salesforce's usual array: unknown field 400 INVALID_FIELD
  ("No such column 'X' on sobject of type Account", the sObject Rows wording);
  more than 2,000 ids 400 EXCEEDED_ID_LIMIT (the code of the 200-record limit of
  Collections writes); `ids` or `fields` missing or empty 400 MISSING_ARGUMENT; a body
  that is not the documented shape 400 JSON_PARSER_ERROR; unknown sObject 404 NOT_FOUND;
- a record in the recycle bin answers `null` (the Rows resource refuses it with 404
  ENTITY_IS_DELETED: it is no longer accessible), and so does an Id of another object
  type, a well-formed Id that matches nothing, and a malformed one ("invalid");
- 15-character Ids are accepted; records carry the 18-character `Id`.

A read: counted as `collections_retrieve` and in `api_requests`, never in
`write_requests`; faults, authentication and the daily limit apply as to every route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roleSync.emulators.salesforce.http import (
    Request,
    Response,
    json_response,
    sf_error,
    unreadable_body,
)
from roleSync.emulators.salesforce.schema import normalize_id, resolve_sobject, to_json

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

MAX_RETRIEVE_IDS = 2000


def _split(text: str | None) -> list[str] | None:
    """The GET form's comma-separated list (None when the parameter is absent)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _arguments(request: Request) -> tuple[Any, Any] | Response:
    """(ids, fields) as sent, or the refusal of a body that cannot be read."""
    if request.method != "POST":
        return _split(request.param("ids")), _split(request.param("fields"))
    try:
        body = request.json()
    except ValueError as exc:
        return sf_error(400, "JSON_PARSER_ERROR", unreadable_body(exc))
    if not isinstance(body, dict):
        return sf_error(400, "JSON_PARSER_ERROR", 'Expected {"ids": [...], "fields": [...]}')
    return body.get("ids"), body.get("fields")


def _refusal(ids: Any, fields: Any) -> Response | None:
    for name, value in (("ids", ids), ("fields", fields)):
        if value is None or value == []:
            return sf_error(400, "MISSING_ARGUMENT", f"The '{name}' parameter is required")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return sf_error(400, "JSON_PARSER_ERROR", f"'{name}' must be a list of strings")
    if len(ids) > MAX_RETRIEVE_IDS:
        return sf_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RETRIEVE_IDS} records "
            "into this call",
        )
    return None


def retrieve(emu: SalesforceEmulator, request: Request, version: str, name: str) -> Response:
    sobject = resolve_sobject(emu.store.schema, name)
    if sobject is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    arguments = _arguments(request)
    if isinstance(arguments, Response):
        return arguments
    ids, fields = arguments
    refused = _refusal(ids, fields)
    if refused is not None:
        return refused
    wanted = []
    for field_name in fields:
        definition = sobject.resolve(field_name.strip())
        if definition is None:
            return sf_error(
                400,
                "INVALID_FIELD",
                f"No such column '{field_name}' on sobject of type {sobject.name}",
                [field_name],
            )
        wanted.append(definition)
    url = f"/services/data/v{version}/sobjects/{sobject.name}/"
    answers: list[dict[str, Any] | None] = []
    store = emu.store
    with store.lock:
        table = store.table(sobject)
        for record_id in ids:
            canonical = normalize_id(record_id.strip())
            found = table.get(canonical) if canonical is not None else None
            if found is None or found["IsDeleted"]:
                answers.append(None)
                continue
            record_url = url + str(found["Id"])
            record: dict[str, Any] = {"attributes": {"type": sobject.name, "url": record_url}}
            for definition in wanted:
                record[definition.name] = to_json(found[definition.name])
            answers.append(record)
    return json_response(200, answers)
