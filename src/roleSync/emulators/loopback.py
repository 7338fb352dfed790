"""A bounded, loopback-only, threaded HTTP server, over TLS with a throwaway CA (trustme)
when the emulator needs it.

Shared by the emulators: each brings its own request handler. HubSpot's SDK accepts an
http:// host, so that emulator serves plain HTTP; simple-salesforce forces https, so the
Salesforce one serves TLS. The CA lives only in memory and in one temporary PEM file
(`ca_path`) that clients trust explicitly; it is removed when the server stops.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class NotLoopbackError(ValueError):
    """The emulators never listen beyond this machine."""


def loopback_address(host: str) -> tuple[str, socket.AddressFamily]:
    """The address to bind for `host`, refusing anything that is not loopback."""
    if host.lower() in LOOPBACK_NAMES:
        return "127.0.0.1", socket.AF_INET
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise NotLoopbackError(f"not a loopback address: {host!r}") from None
    if not address.is_loopback:
        raise NotLoopbackError(f"not a loopback address: {host!r} (use 127.0.0.1 or ::1)")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return str(address), family


class ThrowawayTLS:
    """A fresh CA and a server certificate for the loopback names, valid for one run."""

    def __init__(self) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
        self._dir = Path(tempfile.mkdtemp(prefix="rolesync-emulator-"))
        self.ca_path = self._dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_connections` at once; HTTPS when given a
    TLS context, plain HTTP without one.

    The TLS handshake runs in the connection's thread (not in the accept loop), so a
    client that stalls mid-handshake cannot stop others from connecting. (TCP_NODELAY
    is the handler's business: see `roleSync.emulators.http.Handler`.)
    """

    daemon_threads = True
    # A fixed --port should be reusable right after a restart.
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 64,
    ) -> None:
        self.address_family = family
        self.ssl_context = context
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
        conn: socket.socket = request
        try:
            # A client that stops mid-request must not hold a thread for ever.
            request.settimeout(30)
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(request, server_side=True)
                with self._active_lock:
                    self._active.discard(request)
                    self._active.add(conn)
            super().finish_request(conn, client_address)
        except OSError:
            pass  # the client went away or failed the handshake: nothing to answer
        finally:
            with self._active_lock:
                self._active.discard(request)
                self._active.discard(conn)
            _close(conn)

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
