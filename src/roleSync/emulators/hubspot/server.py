"""A bounded, loopback-only, threaded plain-HTTP server.

HubSpot's SDK accepts an http:// host, so this emulator needs no TLS (the Salesforce
one does: simple-salesforce forces https). The connection bookkeeping mirrors
`roleSync.emulators.loopback.LoopbackHTTPSServer` without the TLS wrapping.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackHTTPServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_connections` at once."""

    daemon_threads = True
    # A fixed --port should be reusable right after a restart.
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int = 64,
    ) -> None:
        self.address_family = family
        self.max_connections = max_connections
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()
        # Connections accepted so far: lets tests see that clients keep connections alive.
        self.connections_accepted = 0
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            full = len(self._active) >= self.max_connections
            if not full:
                self._active.add(request)
                self.connections_accepted += 1
        if full:
            # Refuse rather than queue without bound; clients see a reset and retry.
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            # A client that stops mid-request must not hold a thread for ever.
            request.settimeout(30)
            # The handler writes the head and the body separately: without NODELAY, Nagle
            # holds the body back until the client's delayed ACK (~40 ms a request).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().finish_request(request, client_address)
        except OSError:
            pass  # the client went away: nothing to answer
        finally:
            with self._active_lock:
                self._active.discard(request)
            _close(request)

    def close_connections(self) -> None:
        """End every open connection (keep-alive ones would otherwise linger)."""
        with self._active_lock:
            active = list(self._active)
            self._active.clear()
        for conn in active:
            _close(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a broken connection is a client's business, not a traceback on stderr


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        conn.close()
