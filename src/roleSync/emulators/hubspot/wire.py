"""HubSpot's wire formats: error bodies, timestamps, query parameters and request bodies.

Every error answer carries HubSpot's error body `{"status": "error", "message",
"correlationId", "category", ...}`; 429s add `errorType` and `policyName`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from roleSync.emulators.http import BodyTooDeepError, Request, Response, json_response

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error(
    status: int,
    category: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """HubSpot's standard error body."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if sub_category is not None:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    return json_response(status, body, headers)


def validation_error(message: str, errors: list[dict[str, Any]] | None = None) -> Response:
    return error(400, "VALIDATION_ERROR", message, errors=errors)


def detail(message: str, code: str, **context: list[str]) -> dict[str, Any]:
    """One entry of an error body's `errors` list (the SDK's ErrorDetail)."""
    entry: dict[str, Any] = {"message": message, "code": code}
    if context:
        entry["context"] = context
    return entry


def record_error(
    category: str, message: str, ids: list[str], errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One entry of a 207 answer's `errors` (the SDK's StandardError): the ids it is about."""
    entry: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "links": {},
        "errors": errors or [],
    }
    return entry


# --- time ----------------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    return (moment.astimezone(UTC) - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def iso_ms(ms: int) -> str:
    """HubSpot's v3 datetime text: UTC with milliseconds and a Z."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> int | None:
    """Epoch milliseconds from what HubSpot accepts in filters: ms digits, ISO datetime or date."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


# --- request parts -------------------------------------------------------------------------


def list_param(request: Request, name: str) -> list[str] | None:
    """A list query parameter in either form HubSpot accepts: repeated or comma-separated."""
    values = request.params.get(name)
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def bool_param(request: Request, name: str, default: bool = False) -> bool | None:
    """`true`/`false` in any case (the SDK sends Python's `True`/`False`); None if invalid."""
    value = request.param(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    return None


def int_param(request: Request, name: str) -> int | str | None:
    """The integer, None when absent, or the raw text when it is not an integer."""
    value = request.param(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return value


class BodyError(ValueError):
    """A request body HubSpot would refuse before looking at its content."""


def json_body(request: Request) -> dict[str, Any]:
    if not request.body:
        raise BodyError("Request body is required")
    try:
        document = request.json()
    except BodyTooDeepError as exc:
        raise BodyError(f"Invalid input JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise BodyError("Invalid input JSON on line 1: could not parse the request body") from None
    if not isinstance(document, dict):
        raise BodyError("Invalid input JSON: expected an object")
    return document


def require_fields(document: dict[str, Any], model: str, names: tuple[str, ...]) -> None:
    """Refuse a body missing fields HubSpot's published spec marks required, as its
    spec-validating front end does (400 VALIDATION_ERROR naming the model and fields)."""
    missing = [name for name in names if name not in document]
    if missing:
        raise BodyError(
            f"Invalid input JSON on line 1, column 1: Cannot build {model}, some of required "
            f"attributes are not set [{', '.join(missing)}]"
        )


def body_inputs(document: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """A batch request's `inputs`: at most `limit` objects, each with an `id`."""
    inputs = document.get("inputs")
    if not isinstance(inputs, list):
        raise BodyError("Invalid input JSON: `inputs` must be a list")
    if len(inputs) > limit:
        raise BodyError(f"Too many inputs: {len(inputs)}; the limit is {limit}")
    for item in inputs:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise BodyError("Invalid input JSON: each input needs an `id`")
    return inputs
