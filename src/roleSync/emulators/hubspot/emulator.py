"""The HubSpot emulator: configuration, the request pipeline, tokens, counters, the log.

A request passes, in order: routing and counting; the edge faults (timeout, drop,
502, 503), which do not touch quota; authentication (401); injected 429s; the
limiter (daily, burst, then search: a refused request uses no quota); the resource.
Answers that passed authentication carry the X-HubSpot-RateLimit-* headers (the daily
two only for the private-app token: OAuth calls have no daily limit header).

Counters (`counters`): one per route kind (see routes.py), and the totals requests
(everything received), api_requests (all but oauth_token), write_requests (batch and
single updates and creates, property creation), rate_limited (429s given, any policy); faults
fault_timeout, fault_drop, fault_bad_gateway, fault_unavailable, fault_unauthorized,
fault_rate_limit, fault_daily_limit. Requests are counted as received, including those
answered with an error.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from roleSync.emulators.base import LoopbackEmulator
from roleSync.emulators.http import Handler, Request, Response, handler_for, json_response
from roleSync.emulators.hubspot import wire
from roleSync.emulators.hubspot.exports import ExportSettings, ExportState
from roleSync.emulators.hubspot.faults import FaultState, HubSpotFaults
from roleSync.emulators.hubspot.limits import DAILY, MESSAGES, TEN_SECONDLY, RateLimiter
from roleSync.emulators.hubspot.limits import retry_after_header as _retry_after
from roleSync.emulators.hubspot.routes import Route, resolve
from roleSync.emulators.hubspot.search import SearchIndex
from roleSync.emulators.hubspot.seed import seed_portal
from roleSync.emulators.hubspot.store import HubSpotStore
from roleSync.emulators.hubspot.wire import correlation_id, error

LOGGED_HEADERS = ("content-type", "accept", "user-agent")
# Query parameters that could carry secrets (the legacy `hapikey`) never reach the log.
SECRET_PARAMS = frozenset({"hapikey", "access_token", "refresh_token", "client_secret", "code"})
PRIVATE_APP = "private-app"
OAUTH_APP = "oauth-app"
DAILY_HEADERS = frozenset({"X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining"})


@dataclass
class HubSpotEmulatorConfig:
    # A private-app token: it never expires (tokens from /oauth/v1/token do).
    access_token: str = field(default_factory=lambda: f"pat-na1-{uuid.uuid4()}")
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    refresh_token: str = field(default_factory=lambda: f"na1-{secrets.token_hex(16)}")
    token_lifetime_seconds: float = 1800.0
    burst_limit: int = 100
    interval_ms: int = 10_000
    daily_limit: int = 250_000
    # Search has its own, lower limit (documented as about 5 requests per second).
    search_rate_limit: int = 5
    search_interval_ms: int = 1000
    # Writes become visible to search only this many seconds later.
    search_lag_seconds: float = 0.0
    list_page_max: int = 100
    owners_page_max: int = 500
    batch_max: int = 100
    associations_batch_max: int = 100
    # Associated ids one v4 batch-read result holds before `paging.next` (HubSpot: 500).
    associations_page: int = 500
    faults: HubSpotFaults = field(default_factory=HubSpotFaults)
    exports: ExportSettings = field(default_factory=ExportSettings)
    max_connections: int = 64
    # A request (line, headers, body) must arrive whole this long after it began, or it
    # is answered 408: slow clients cannot hold their threads for long.
    request_deadline_seconds: float = 10.0
    log_size: int = 1000
    # Archived owners' `userId`: an integer as HubSpot's spec types it (default), or
    # null as its guides describe a deactivated user (True).
    archived_owner_user_id_null: bool = False

    def __post_init__(self) -> None:
        for name in ("burst_limit", "interval_ms", "daily_limit", "search_rate_limit",
                     "search_interval_ms", "list_page_max", "batch_max"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.search_lag_seconds < 0 or self.token_lifetime_seconds <= 0:
            raise ValueError("search_lag_seconds must be >= 0 and token_lifetime_seconds > 0")
        if not self.request_deadline_seconds > 0:
            raise ValueError("request_deadline_seconds must be more than 0")


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    """One request as seen by the emulator. Never holds tokens or bodies."""

    sequence: int
    method: str
    path: str
    params: dict[str, list[str]]
    kind: str
    status: int | None  # None: the connection was dropped
    headers: dict[str, str]
    fault: str | None
    seconds: float


@dataclass
class _Token:
    bucket: str
    expires_at: float | None  # time.monotonic(); None: never
    uses: int = 0


class HubSpotEmulator(LoopbackEmulator[HubSpotEmulatorConfig, RequestLogEntry]):
    """A loopback HTTP HubSpot portal. Use as a context manager, or start()/stop()."""

    thread_name = "hubspot-emulator"

    def __init__(self, config: HubSpotEmulatorConfig | None = None) -> None:
        super().__init__(config or HubSpotEmulatorConfig())
        config = self.config
        self.store = HubSpotStore(search_lag_seconds=config.search_lag_seconds)
        self.search_index = SearchIndex(self.store)
        self.limiter = RateLimiter(
            burst_limit=config.burst_limit, interval_ms=config.interval_ms,
            daily_limit=config.daily_limit, search_limit=config.search_rate_limit,
            search_interval_ms=config.search_interval_ms,
        )  # fmt: skip
        self.fault_state = FaultState(config.faults)
        self.exports = ExportState(config.exports)
        self._tokens: dict[str, _Token] = {config.access_token: _Token(PRIVATE_APP, None)}

    def _handler(self) -> type[Handler]:
        return handler_for(self.dispatch, wire.error)

    # --- arranging the portal ------------------------------------------------------------

    def seed(
        self,
        *,
        owners: int,
        companies: int,
        deals: int,
        seed: int = 1,
        as_of: datetime | None = None,
        contacts: int = 0,
        tasks: int = 0,
        archived_every: int = 10,
    ) -> None:
        """Seed a deterministic portal: see seed.py and seed_related.py for what it holds."""
        seed_portal(
            self.store, owners=owners, companies=companies, deals=deals, seed=seed, as_of=as_of,
            contacts=contacts, tasks=tasks, archived_every=archived_every,
        )  # fmt: skip

    def set_faults(self, faults: HubSpotFaults) -> None:
        """Replace the faults; request numbering and record attempts start again."""
        self.config.faults = faults
        self.fault_state = FaultState(faults)

    def reset_daily(self) -> None:
        """A new day: daily usage starts again from zero."""
        self.limiter.reset_daily()

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return sum(1 for t in self._tokens.values() if t.bucket == OAUTH_APP)

    def issue_token(self) -> str:
        issued = f"CN{secrets.token_urlsafe(40)}"
        expires = time.monotonic() + self.config.token_lifetime_seconds
        with self._lock:
            self._tokens[issued] = _Token(OAUTH_APP, expires)
            # Bounded: the oldest issued tokens (never the private-app one) are forgotten.
            self._bound_tokens(self._tokens, self.config.access_token)
        return issued

    # --- the request pipeline -------------------------------------------------------------

    def dispatch(self, request: Request) -> Response | None:
        started = time.monotonic()
        route = resolve(request)
        sequence = self._received(route.kind, api=route.api, write=route.write)
        fault: str | None = None
        answer: Response | None
        if not route.api:
            answer = self._handle(route, request)
        else:
            faults = self.fault_state
            number = faults.next_request()
            if faults.timeout(number):
                fault = "timeout"
                self._stopping.wait(faults.faults.timeout_seconds)
            drop = faults.drops(number, route.kind)
            if drop and not faults.faults.drop_after_processing:
                fault, answer = "drop", None
            elif faults.bad_gateway(number):
                fault, answer = "bad_gateway", _plain(502, "Bad Gateway")
            elif faults.unavailable(number):
                fault, answer = (
                    "unavailable",
                    error(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
                )
            else:
                answer, admitted_fault = self._admitted(request, route, number)
                fault = admitted_fault or fault
                if drop:
                    fault, answer = "drop", None
        with self._lock:
            if fault is not None:
                self.counters[f"fault_{fault}"] += 1
            if answer is not None and answer.status == 429:
                self.counters["rate_limited"] += 1
            self._log.append(
                RequestLogEntry(
                    sequence, request.method, request.path,
                    {k: v for k, v in request.params.items() if k.lower() not in SECRET_PARAMS},
                    route.kind, None if answer is None else answer.status,
                    {k: request.headers[k] for k in LOGGED_HEADERS if k in request.headers},
                    fault, round(time.monotonic() - started, 4),
                )
            )  # fmt: skip
        return answer

    def _admitted(self, request: Request, route: Route, number: int) -> tuple[Response, str | None]:
        """Authentication, the limits, then the resource itself."""
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        faults = self.config.faults
        with self._lock:
            token = self._tokens.get(presented.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                return _unauthenticated(), None
            expired = token.expires_at is not None and time.monotonic() >= token.expires_at
            worn_out = (
                faults.unauthorized_after is not None and token.uses >= faults.unauthorized_after
            )
            if expired or worn_out:
                return _expired(), "unauthorized" if worn_out and not expired else None
            token.uses += 1
        ceiling = self.config.daily_limit
        if faults.daily_limit_after is not None:
            ceiling = min(ceiling, faults.daily_limit_after)
        if self.fault_state.rate_limited(number):
            headers = _for_bucket(self.limiter.headers(token.bucket, ceiling), token.bucket)
            return _too_many(TEN_SECONDLY, 1.0, headers, faults.retry_after), "rate_limit"
        admission = self.limiter.admit(token.bucket, search=route.search, daily_ceiling=ceiling)
        if admission.policy is not None:
            fault = (
                "daily_limit"
                if admission.policy == DAILY and ceiling < self.config.daily_limit
                else None
            )
            headers = _for_bucket(admission.headers, token.bucket)
            answer = _too_many(admission.policy, admission.retry_after, headers, faults.retry_after)
            return answer, fault
        answer = self._handle(route, request)
        answer.headers.update(_for_bucket(admission.headers, token.bucket))
        return answer, None

    def _handle(self, route: Route, request: Request) -> Response:
        try:
            return route.handle(self, request)
        except Exception as exc:
            # A bug in the emulator, not a fault being injected: answer as HubSpot does
            # to its own failures, and keep the traceback for the test to show.
            self._internal_error(exc)
            return error(500, "INTERNAL_ERROR", "internal error")


def _for_bucket(headers: dict[str, str], bucket: str) -> dict[str, str]:
    """OAuth-authorized answers carry no daily-limit headers: HubSpot's changelog ("Rate
    limit headers will now appear for OAuth authenticated calls") says they are left out
    because OAuth calls have no daily limit. Private-app answers carry all five."""
    if bucket != OAUTH_APP:
        return headers
    return {k: v for k, v in headers.items() if k not in DAILY_HEADERS}


def _too_many(policy: str, wait: float, headers: dict[str, str], retry_after: bool) -> Response:
    body = {
        "status": "error",
        "message": MESSAGES[policy],
        # `category` as in every HubSpot error body (RATE_LIMITS for rate limits, per
        # HubSpot's error-response changelog); errorType and policyName as 429s carry.
        "category": "RATE_LIMITS",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }
    answer = json_response(429, body, headers)
    if retry_after:
        answer.headers["Retry-After"] = _retry_after(wait)
    return answer


def _unauthenticated() -> Response:
    return error(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication "
        "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
        "oauth-overview",
    )


def _expired() -> Response:
    return error(
        401,
        "EXPIRED_AUTHENTICATION",
        "The OAuth token used to make this call expired. Refresh it and try again.",
    )


def _plain(status: int, text: str) -> Response:
    # A load balancer's answer, not HubSpot's: an HTML page, no JSON error body.
    body = f"<html><body><h1>{status} {text}</h1></body></html>".encode()
    return Response(status, body, "text/html")
