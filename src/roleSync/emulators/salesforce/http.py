"""Salesforce-shaped answers: REST error arrays and CSV bodies."""

from __future__ import annotations

from typing import Any

from roleSync.emulators.http import BodyTooDeepError, Request, Response, handler_for, json_response

__all__ = [
    "Request",
    "Response",
    "csv_response",
    "handler_for",
    "json_response",
    "sf_error",
    "unreadable_body",
]


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's REST error body: a JSON array of {message, errorCode[, fields]}."""
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = fields
    return json_response(status, [error])


def csv_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), "text/csv", dict(headers or {}))


def unreadable_body(exc: ValueError) -> str:
    """The JSON_PARSER_ERROR message for a body `Request.json()` refused."""
    if isinstance(exc, BodyTooDeepError):
        return f"The request body is {exc}"
    return "The request body is not valid JSON"
