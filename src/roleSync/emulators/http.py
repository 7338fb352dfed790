"""Requests and answers as plain values, and the handler that moves them over HTTP/1.1.

Shared by every emulator; each supplies its dispatch function and the shape of the
errors the handler itself gives (a body too large, no Content-Length).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

# Request bodies larger than this are refused (Salesforce Bulk 2.0's own cap: 100 MB).
MAX_BODY_BYTES = 150 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=dict(headers or {}))


# The handler gets the request and returns the answer, or None to drop the connection.
Dispatch = Callable[[Request], "Response | None"]
# An error the handler gives before dispatching: (status, code, message) -> answer.
Refusal = Callable[[int, str, str], Response]


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every answer carries a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "rolesync-emulator"
    sys_version = ""
    # Headers and body go out in two writes; without TCP_NODELAY the second waits for
    # the client's delayed ACK (~40 ms per answer on loopback).
    disable_nagle_algorithm = True
    dispatch: ClassVar[Dispatch]
    refuse: ClassVar[Refusal]

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator keeps its own request log, without tokens

    def _serve(self) -> None:
        length_text = self.headers.get("Content-Length", "0") or "0"
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._write(
                type(self).refuse(411, "LENGTH_REQUIRED", "Send a Content-Length"), close=True
            )
            return
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._write(
                type(self).refuse(413, "REQUEST_TOO_LARGE", "Request body too large"), close=True
            )
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {name.lower(): value for name, value in self.headers.items()},
            body,
        )
        answer = type(self).dispatch(request)
        if answer is None:
            # A dropped connection: no status line at all, the socket just closes.
            self.close_connection = True
            return
        self._write(answer, close=self.headers.get("Connection", "").lower() == "close")

    def _write(self, answer: Response, *, close: bool) -> None:
        self.send_response(answer.status)
        if answer.content_type and answer.body:
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()


def handler_for(dispatch: Dispatch, refuse: Refusal) -> type[Handler]:
    """A Handler subclass bound to one emulator's dispatch function and error shape."""
    return type(
        "BoundHandler",
        (Handler,),
        {"dispatch": staticmethod(dispatch), "refuse": staticmethod(refuse)},
    )
