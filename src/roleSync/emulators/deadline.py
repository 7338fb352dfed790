"""Reading a request from a connection under one deadline for the whole request.

A socket timeout bounds each read, not the request: a client that sends one byte (or
one header line) just before each timeout keeps its connection and its thread for as
long as it likes. `DeadlineReader` is the handler's `rfile`: once the first byte of a
request has arrived, every read of that request (request line, headers, body) waits
only for what is left of one deadline, and past it raises `RequestTimeoutError`.

Between requests (keep-alive) a connection may stay silent for `idle_seconds`; it is
then closed without an answer, as servers close idle connections.
"""

from __future__ import annotations

import io
import socket
import time

# Bytes asked of the socket at once: a whole small request in one read, and bodies of
# many megabytes in a few hundred reads.
CHUNK = 256 * 1024


class RequestTimeoutError(Exception):
    """The client did not send its whole request before the deadline."""


class DeadlineReader(io.BufferedIOBase):
    """Buffered reads of `conn`, each bounded by what is left of the request's deadline."""

    def __init__(self, conn: socket.socket, idle_seconds: float) -> None:
        super().__init__()
        self._conn = conn
        self._idle_seconds = idle_seconds
        self._buffer = bytearray()
        self._deadline: float | None = None

    def readable(self) -> bool:
        return True

    def wait_for_request(self) -> bool:
        """Wait (at most the idle time) for the first byte of the next request. False:
        the client closed the connection, broke it, or stayed silent too long."""
        self.stop()
        if self._buffer:
            return True  # pipelined: the next request is already here
        try:
            return self._fill()
        except OSError:  # TimeoutError included: an idle connection ends quietly
            return False

    def start(self, seconds: float) -> None:
        """The request has begun: all of it must arrive within `seconds`."""
        self._deadline = time.monotonic() + seconds

    def stop(self) -> None:
        """The request is in: writes and the wait for the next one use the idle time."""
        self._deadline = None
        self._conn.settimeout(self._idle_seconds)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        searched = 0
        while True:
            newline = self._buffer.find(b"\n", searched)
            if newline != -1:
                wanted = newline + 1
                break
            if 0 <= limit <= len(self._buffer):
                wanted = limit
                break
            searched = len(self._buffer)
            if not self._fill():
                wanted = len(self._buffer)  # the client closed mid-line
                break
        if 0 <= limit < wanted:
            wanted = limit
        return self._take(wanted)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(min(size, len(self._buffer)))

    def read1(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._fill()
        return self._take(len(self._buffer) if size < 0 else min(size, len(self._buffer)))

    def _take(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken

    def _fill(self) -> bool:
        """One read from the socket into the buffer; False at the end of the stream."""
        if self._deadline is None:
            timeout = self._idle_seconds
        else:
            timeout = self._deadline - time.monotonic()
            if timeout <= 0:
                raise RequestTimeoutError
        self._conn.settimeout(timeout)
        try:
            chunk = self._conn.recv(CHUNK)
        except TimeoutError:
            if self._deadline is None:
                raise
            raise RequestTimeoutError from None
        if not chunk:
            return False
        self._buffer += chunk
        return True
