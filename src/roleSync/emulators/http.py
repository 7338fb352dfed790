"""Requests and answers as plain values, and the handler that moves them over HTTP/1.1.

Shared by every emulator; each supplies its dispatch function and the shape of the
errors the handler itself gives (a body too large, no Content-Length, a request not
received in time, a request line too long...): every answer is in the API's shape.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from itertools import accumulate
from typing import Any, ClassVar, Protocol, cast
from urllib.parse import parse_qs, urlsplit

from roleSync.emulators.deadline import DeadlineReader, RequestTimeoutError

# Request bodies larger than this are refused (Salesforce Bulk 2.0's own cap: 100 MB).
MAX_BODY_BYTES = 150 * 1024 * 1024
# JSON bodies nested deeper than this are refused before json.loads recurses into them
# (far beyond any real API body; a 100,000-deep one would end in a RecursionError).
MAX_JSON_DEPTH = 64

# A JSON string, escapes included; an unterminated one runs to the end of the text, so
# the scan never backtracks (possessive quantifiers: linear in the body's length).
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class BodyTooDeepError(ValueError):
    """A JSON body nested deeper than MAX_JSON_DEPTH."""


def json_depth(body: bytes) -> int:
    """How deep json.loads would nest parsing `body`; brackets in strings are text.

    Linear and without recursion, so it runs before json.loads does. Exact for
    well-formed JSON; for malformed JSON never less than what json.loads reaches (a
    closer without its opener lowers the count only where json.loads stops anyway).
    """
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    return max(0, max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0))


def load_json(body: bytes) -> Any:
    """The JSON document in `body` (UTF-8). Raises ValueError for anything malformed,
    BodyTooDeepError (a ValueError) for nesting beyond MAX_JSON_DEPTH."""
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise BodyTooDeepError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(body.decode("utf-8"))


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
        """The body as JSON; ValueError (BodyTooDeepError for nesting) when it is not."""
        return load_json(self.body)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    # Fault injection: send the headers and only this many bytes of the body, then
    # close the connection (a download cut halfway).
    cut_at: int | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=dict(headers or {}))


# The handler gets the request and returns the answer, or None to drop the connection.
Dispatch = Callable[[Request], "Response | None"]
# An error the handler gives before dispatching: (status, code, message) -> answer.
Refusal = Callable[[int, str, str], Response]


class ConnectionSlots(Protocol):
    """What the handler needs of its server: the deadlines, and where each connection
    is (waiting for a request, which the server may end to make room, or busy)."""

    request_deadline: float
    idle_seconds: float

    def waiting(self, conn: socket.socket) -> None: ...

    def busy(self, conn: socket.socket) -> None: ...


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every answer carries a Content-Length.

    Each request must arrive whole (line, headers, body) within the server's
    `request_deadline` of its first byte, or it is answered 408 and the connection
    closed: a client sending slowly cannot hold its thread for long.
    """

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

    def setup(self) -> None:
        super().setup()
        self.slots = cast(ConnectionSlots, self.server)
        self.reader = DeadlineReader(self.connection, self.slots.idle_seconds)
        self.rfile = self.reader

    def handle_one_request(self) -> None:
        self.slots.waiting(self.connection)
        if not self.reader.wait_for_request():
            self.close_connection = True
            return
        deadline = self.slots.request_deadline
        self.reader.start(deadline)
        # What an answer needs when the deadline passes before the request line is in.
        self.command, self.requestline = "", ""
        try:
            super().handle_one_request()
        except RequestTimeoutError:
            self.request_version = self.protocol_version
            message = f"The request was not received within {deadline:g} seconds"
            self._write(type(self).refuse(408, "REQUEST_TIMEOUT", message), close=True)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server finds itself (a request line too long, an unknown method)
        in the API's error shape, not as an HTML page."""
        status = HTTPStatus(code)
        self._write(type(self).refuse(code, status.name, message or status.phrase), close=True)

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
        if len(body) < length:
            self.close_connection = True  # the client closed before its body was in
            return
        # The request is in: the deadline is over, and the server must not end this
        # connection to make room while the request is being served.
        self.reader.stop()
        self.slots.busy(self.connection)
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
        self.reader.stop()  # writes get the idle time, not what is left of a deadline
        self.send_response(answer.status)
        if answer.content_type and answer.body:
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if close or answer.cut_at is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if answer.cut_at is not None:
            self.wfile.write(answer.body[: answer.cut_at])
            self.close_connection = True
        elif self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()


def handler_for(dispatch: Dispatch, refuse: Refusal) -> type[Handler]:
    """A Handler subclass bound to one emulator's dispatch function and error shape."""
    return type(
        "BoundHandler",
        (Handler,),
        {"dispatch": staticmethod(dispatch), "refuse": staticmethod(refuse)},
    )
