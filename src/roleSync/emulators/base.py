"""What every emulator shares: running on loopback (start/stop, the context manager, the
serving thread) and the bookkeeping of requests (counters, the log, internal errors).

A subclass gives its request handler (`_handler`), a config with `max_connections`,
`request_deadline_seconds` and `log_size`, and `secure = True` to serve HTTPS with a
throwaway CA whose PEM file is `ca_path`.
"""

from __future__ import annotations

import threading
import traceback
from abc import ABC, abstractmethod
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from roleSync.emulators.loopback import LoopbackHTTPServer, ThrowawayTLS, loopback_address


class EmulatorConfig(Protocol):
    max_connections: int
    # Seconds a client has to send a whole request once it has begun (then 408).
    request_deadline_seconds: float
    log_size: int


Config = TypeVar("Config", bound=EmulatorConfig)
Entry = TypeVar("Entry")
Token = TypeVar("Token")

# Issued access tokens kept at the most: the oldest are forgotten first.
MAX_TOKENS = 1000


class LoopbackEmulator(ABC, Generic[Config, Entry]):
    """A loopback emulator. Use as a context manager, or start()/stop()."""

    # True: HTTPS with a throwaway CA (`ca_path`); False: plain HTTP.
    secure: ClassVar[bool] = False
    thread_name: ClassVar[str] = "emulator"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._log: deque[Entry] = deque(maxlen=config.log_size)
        # Tracebacks of requests the emulator itself failed on (answered 500).
        self.internal_errors: deque[str] = deque(maxlen=50)
        self._sequence = 0
        # Set by stop(): wakes requests waiting out an injected delay.
        self._stopping = threading.Event()
        self._server: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: ThrowawayTLS | None = None
        self.url = ""
        self.ca_path = Path()

    @abstractmethod
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this emulator."""

    # --- life cycle ----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on a loopback address (port 0: a free one); refuses any other host."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        address, family = loopback_address(host)
        self._stopping.clear()
        tls = ThrowawayTLS() if self.secure else None
        try:
            server = LoopbackHTTPServer(
                (address, port), family, self._handler(), tls.context if tls else None,
                max_connections=self.config.max_connections,
                request_deadline=self.config.request_deadline_seconds,
            )  # fmt: skip
        except OSError:
            if tls is not None:
                tls.cleanup()  # the port was taken: leave no CA file behind
            raise
        self._server, self._tls = server, tls
        scheme = "http" if tls is None else "https"
        bound_port = server.server_address[1]
        self.url = f"{scheme}://{'[' + address + ']' if ':' in address else address}:{bound_port}"
        if tls is not None:
            self.ca_path = tls.ca_path
        # A short poll interval makes stop() quick: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (keep-alive reuses one for many requests)."""
        return 0 if self._server is None else self._server.connections_accepted

    # --- bookkeeping -----------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Zero the request counters and clear the request log (the usage of the API limits
        is kept: each emulator has its own reset for that)."""
        with self._lock:
            self.counters.clear()
            self._log.clear()

    @property
    def log(self) -> list[Entry]:
        with self._lock:
            return list(self._log)

    def _received(self, kind: str, *, api: bool, write: bool, tally: str | None = None) -> int:
        """Count a request as received; its number in arrival order. `tally`: one more
        counter to bump along with the others."""
        with self._lock:
            self._sequence += 1
            self.counters["requests"] += 1
            self.counters[kind] += 1
            if api:
                self.counters["api_requests"] += 1
            if write:
                self.counters["write_requests"] += 1
            if tally is not None:
                self.counters[tally] += 1
            return self._sequence

    def _internal_error(self, exc: Exception) -> None:
        """Keep the traceback of a request the emulator itself failed on: a bug in the
        emulator, not a fault being injected, for the test to show."""
        with self._lock:
            self.counters["internal_error"] += 1
            self.internal_errors.append("".join(traceback.format_exception(exc)))

    def _bound_tokens(self, tokens: dict[str, Token], keep: str) -> None:
        """Forget the oldest tokens (never `keep`, the configured one) beyond MAX_TOKENS.
        Call with the lock held."""
        while len(tokens) > MAX_TOKENS:
            oldest = next(t for t in tokens if t != keep)
            del tokens[oldest]
