"""Hostile HTTP clients for the emulator tests: raw sockets that send a request slowly.

A slow client sends a request line and then one header line at a time, never the
blank line that ends the headers: a server that gives each read its own timeout
keeps such a client (and its thread) for ever.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

HEADER_LINE = b"X-Slow: 1\r\n"


def connect(url: str, ca_path: Path | None = None) -> socket.socket:
    """A connected socket to the emulator at `url`, over TLS when it is https."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    if parts.scheme != "https":
        return raw
    context = ssl.create_default_context(cafile=str(ca_path))
    return context.wrap_socket(raw, server_hostname=parts.hostname)


def start_request(sock: socket.socket, path: str) -> None:
    """The request line and the Host header: the request is not complete yet."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode("ascii"))


def read_now(sock: socket.socket) -> bytes | None:
    """What the server has sent, without waiting: None when nothing (the connection is
    open), b"" when it closed. (Readable is not enough over TLS: the server's session
    tickets arrive after the handshake, and this read consumes them.)"""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    except OSError:
        return b""  # reset
    finally:
        sock.settimeout(timeout)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has answered or closed the connection."""
    return read_now(sock) is not None


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    chunks: list[bytes] = []
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def dribble_until_answered(sock: socket.socket, *, interval: float, most: int) -> bytes:
    """Send one header line every `interval` seconds (at most `most`) until the server
    answers; its answer, or b"" when it never did."""
    for _ in range(most):
        select.select([sock], [], [], interval)
        answered = read_now(sock)
        if answered is not None:
            return answered + read_all(sock)
        try:
            sock.sendall(HEADER_LINE)
        except OSError:
            return read_all(sock)
    return b""


class SlowClients:
    """`count` clients that each send one header line every `interval` seconds from a
    background thread, until the context ends. Clients the server closes are left be."""

    def __init__(
        self, url: str, path: str, count: int, *, ca_path: Path | None, interval: float
    ) -> None:
        self.sockets = [connect(url, ca_path) for _ in range(count)]
        for sock in self.sockets:
            start_request(sock, path)
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._dribble, name="slow-clients", daemon=True)

    def _dribble(self) -> None:
        while not self._done.wait(self._interval):
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(HEADER_LINE)

    def still_connected(self) -> int:
        """How many of the clients the server has neither answered nor closed."""
        return sum(not closed_by_server(sock) for sock in self.sockets)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextmanager
def silent_connection(url: str) -> Iterator[socket.socket]:
    """A bare TCP connection that sends nothing at all (not even a TLS hello)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    try:
        yield sock
    finally:
        sock.close()
