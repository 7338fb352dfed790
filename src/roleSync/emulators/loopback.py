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
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
# How long a connection may stay silent between requests (keep-alive) before it is closed.
IDLE_SECONDS = 30.0


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

    Slow clients cannot starve the others: each request must arrive whole within
    `request_deadline` seconds (the handler answers 408 past it), the TLS handshake
    too; and when every place is taken, a new connection takes the place of the one
    that has waited longest for its request to arrive (idle keep-alive connections and
    slow senders; never one whose request is being served). Only when every connection
    is busy serving is a new one refused.

    The TLS handshake runs in the connection's thread (not in the accept loop), so a
    client that stalls mid-handshake cannot stop others from connecting. (TCP_NODELAY
    is the handler's business: see `roleSync.emulators.http.Handler`.)
    """

    daemon_threads = True
    # A fixed --port should be reusable right after a restart.
    allow_reuse_address = True
    # The listen backlog: socketserver's 5 drops the SYNs of a burst of connections
    # (each dropped one waits a second for its retry) before the accept loop sees them.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 64,
        request_deadline: float = 10.0,
    ) -> None:
        if not request_deadline > 0:
            raise ValueError("request_deadline must be more than 0 seconds")
        self.address_family = family
        self.ssl_context = context
        self.max_connections = max_connections
        self.request_deadline = request_deadline
        self.idle_seconds = IDLE_SECONDS
        self._active: set[socket.socket] = set()
        # Connections waiting for (or still receiving) a request -> since when.
        self._waiting: dict[socket.socket, float] = {}
        self._active_lock = threading.Lock()
        # Connections accepted so far: lets tests see that clients keep connections alive.
        self.connections_accepted = 0
        # Connections ended to make room for a new one.
        self.connections_shed = 0
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            if len(self._active) >= self.max_connections:
                self._shed_longest_waiting()
            full = len(self._active) >= self.max_connections
            if not full:
                self._active.add(request)
                self._waiting[request] = time.monotonic()  # for its handshake or request
                self.connections_accepted += 1
        if full:
            # Every connection is being served: refuse rather than queue without bound;
            # clients see a reset and retry.
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _shed_longest_waiting(self) -> None:
        """End the connection that has waited longest for its request. Call with the
        lock held. Its thread sees the end of the stream and finishes on its own."""
        if not self._waiting:
            return
        victim = min(self._waiting, key=self._waiting.__getitem__)
        del self._waiting[victim]
        self._active.discard(victim)
        self.connections_shed += 1
        _wake(victim)

    def waiting(self, conn: socket.socket) -> None:
        """`conn` waits for its next request: the server may end it to make room."""
        with self._active_lock:
            if conn in self._active:
                self._waiting[conn] = time.monotonic()

    def busy(self, conn: socket.socket) -> None:
        """`conn`'s request is in and being served: it keeps its place."""
        with self._active_lock:
            self._waiting.pop(conn, None)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        try:
            # The whole handshake within the deadline (CPython bounds do_handshake as a
            # whole by the timeout, not each read); the handler times the requests.
            request.settimeout(self.request_deadline)
            if self.ssl_context is not None:
                # Wrapping takes the descriptor from `request`: track the TLS socket
                # before the handshake, so that shedding or stop() can still end it.
                tls = self.ssl_context.wrap_socket(
                    request, server_side=True, do_handshake_on_connect=False
                )
                conn = tls
                with self._active_lock:
                    wanted = request in self._active
                    if wanted:
                        self._active.discard(request)
                        self._active.add(conn)
                        self._waiting[conn] = self._waiting.pop(request, time.monotonic())
                if not wanted:
                    return  # shed, or the server stopped, while it was being wrapped
                tls.do_handshake()
            super().finish_request(conn, client_address)
        except OSError:
            pass  # the client went away or failed the handshake: nothing to answer
        finally:
            with self._active_lock:
                for sock in (request, conn):
                    self._active.discard(sock)
                    self._waiting.pop(sock, None)
            _close(conn)

    def close_connections(self) -> None:
        """End every open connection (keep-alive ones would otherwise linger). Each
        connection's thread wakes to the end of its stream and closes its socket."""
        with self._active_lock:
            active = list(self._active)
            self._active.clear()
            self._waiting.clear()
        for conn in active:
            _wake(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a broken connection is a client's business, not a traceback on stderr


def _wake(conn: socket.socket) -> None:
    """End a connection another thread is serving: its blocked read returns at once.

    shutdown, never close: closing frees the descriptor's number while that thread may
    be about to read it, and a connection accepted next can get the same number (the
    old thread would then read the new client's bytes). socket.socket's own shutdown:
    SSLSocket's drops the TLS state from under the reading thread.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(conn, socket.SHUT_RDWR)


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        conn.close()
