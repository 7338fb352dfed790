"""Retries, backoff, rate limiting and API budgets: the one module every remote adapter uses.

The pieces, from pure to effectful:

- `Decision` and a per-CRM decision function `(status, headers, body) -> Decision`
  (airbyte style): what to do with a response, decided on bare values, unit-testable
  without a network. `decide_salesforce` is the Salesforce one; `decide_transport`
  classifies connection errors and timeouts for every CRM.
- `ApiBudget`: the run's share of the CRM's daily request allowance, fed from response
  headers; raises `BudgetExhaustedError` before a request would cross the ceiling.
- `TokenBucket`: a proactive rate limiter with an injectable clock (HubSpot's 10-second
  windows; Salesforce has none).
- `RetryingSession`: a `requests.Session` that runs every request through the policy
  (dlt style): the SDK gets this session, so no SDK call escapes it.

Writes are the delicate part: a PATCH whose connection dropped after it was sent may
have been applied. Re-sending it could write a record twice, so the session only
re-sends a non-idempotent request when the decision says the server cannot have acted
on it (`replay_safe`); otherwise it raises `OutcomeUnknownError` and the caller verifies by
reading before it writes again.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from roleSync.errors import ExitCode, RoleSyncError

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# -- errors ------------------------------------------------------------------------


class StopRunError(RoleSyncError):
    """The run must stop now, cleanly: going on would hit the CRM's limits."""

    exit_code = ExitCode.GUARDRAIL


class BudgetExhaustedError(StopRunError):
    """The run used (or would use) more than its share of the daily API requests."""


class DailyLimitError(StopRunError):
    """The CRM refused a request because the org's daily request limit is used up."""


class AuthenticationError(RoleSyncError):
    """The CRM rejected the credentials and a refresh did not help."""


class RequestError(RoleSyncError):
    """A request failed for good (a refusal, or retries exhausted)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OutcomeUnknownError(RequestError):
    """A write was sent but no answer came back: it may or may not have been applied."""


# -- decisions ---------------------------------------------------------------------


class Action(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH_TOKEN_THEN_RETRY = "refresh_token_then_retry"
    FAIL = "fail"
    STOP_RUN = "stop_run"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str = ""
    # From Retry-After (or the CRM's own hint); None: use the policy's backoff.
    wait_seconds: float | None = None
    # True when the server cannot have acted on the request (it refused it before doing
    # anything), so even a non-idempotent write may be sent again.
    replay_safe: bool = False


Decide = Callable[[int, Mapping[str, str], bytes | str | None], Decision]


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def salesforce_errors(body: bytes | str | None) -> list[tuple[str, str]]:
    """(errorCode, message) pairs of a Salesforce error body: a JSON array of objects."""
    if not body:
        return []
    try:
        data = json.loads(body)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    return [
        (str(item.get("errorCode", "")), str(item.get("message", "")))
        for item in items
        if isinstance(item, dict)
    ]


# Transient per-org concurrency limits share the 403 REQUEST_LIMIT_EXCEEDED code with
# the daily limit; only the message tells them apart. They pass: back off and retry.
_CONCURRENCY = re.compile(r"concurrent", re.IGNORECASE)


def decide_salesforce(
    status: int, headers: Mapping[str, str], body: bytes | str | None
) -> Decision:
    """What to do with a Salesforce REST response."""
    if 200 <= status < 300:
        return Decision(Action.SUCCESS)
    errors = salesforce_errors(body)
    codes = {code for code, _ in errors}
    first = f"{errors[0][0]}: {errors[0][1]}" if errors else f"HTTP {status}"
    wait = retry_after_seconds(headers)
    if status == 401:
        return Decision(Action.REFRESH_TOKEN_THEN_RETRY, first, replay_safe=True)
    if status == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
        if any(_CONCURRENCY.search(message) for _, message in errors):
            return Decision(Action.RATE_LIMITED, first, wait, replay_safe=True)
        return Decision(Action.STOP_RUN, first)
    if status == 429:
        return Decision(Action.RATE_LIMITED, first, wait, replay_safe=True)
    if status == 503 or "SERVER_UNAVAILABLE" in codes:
        # 503: the server did not take the request on, so a write can be re-sent.
        return Decision(Action.RETRY, first, wait, replay_safe=True)
    if status in (500, 502, 504):
        # The request may have been processed before the failure: retry reads only.
        return Decision(Action.RETRY, first, wait)
    if "UNABLE_TO_LOCK_ROW" in codes:
        return Decision(Action.RETRY, first, wait, replay_safe=True)
    return Decision(Action.FAIL, first)


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request left (refused, DNS, connect
    timeout): whatever the method, the server has not seen it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def decide_transport(exc: BaseException) -> Decision:
    """Connection errors and timeouts: retry; replay-safe only if nothing was sent."""
    if isinstance(exc, requests.exceptions.SSLError):
        # Retrying does not fix an untrusted certificate.
        return Decision(
            Action.FAIL,
            "TLS certificate verification failed: set salesforce.ca_bundle to the CA that "
            "signed the server's certificate (corporate TLS inspection?)",
        )
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        return Decision(Action.RETRY, f"{kind} ({type(exc).__name__})", None, _never_sent(exc))
    return Decision(Action.FAIL, type(exc).__name__)


# -- budget ------------------------------------------------------------------------

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_limit_info(value: str) -> tuple[int, int] | None:
    """(used, max) of a `Sforce-Limit-Info: api-usage=USED/MAX` header value."""
    match = _USAGE.search(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(slots=True)
class ApiBudget:
    """At most `share` of the daily requests that remained when the run began.

    The ceiling is fixed at the first observation (a header or /limits/); until then
    requests are allowed, so a run never pays a /limits/ call just to start. Every
    request this run sends (retries too) counts, as the CRM counts them.
    """

    share: float = 0.2
    used_by_run: int = 0
    ceiling: int | None = None
    remaining: int | None = None  # the org's remaining daily requests, last seen

    def observe(self, used: int, maximum: int) -> None:
        self.remaining = max(0, maximum - used)
        if self.ceiling is None:
            # Requests already sent this run count against the ceiling too.
            self.ceiling = math.floor(self.share * (self.remaining + self.used_by_run))

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        value = next((v for k, v in headers.items() if k.lower() == "sforce-limit-info"), None)
        parsed = parse_limit_info(value) if value else None
        if parsed:
            self.observe(*parsed)

    def observe_limits(self, limits: Mapping[str, Any]) -> None:
        """From the body of Salesforce's /limits/ resource."""
        daily = limits.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.observe(int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"]))

    @property
    def known(self) -> bool:
        return self.ceiling is not None

    @property
    def left(self) -> int | None:
        """Requests this run may still send; None while unknown."""
        if self.ceiling is None:
            return None
        left = self.ceiling - self.used_by_run
        if self.remaining is not None:
            left = min(left, self.remaining)
        return max(0, left)

    def check(self, planned: int, what: str = "the next request") -> None:
        """Raise BudgetExhaustedError if `planned` more requests would cross the ceiling."""
        left = self.left
        if left is not None and planned > left:
            raise BudgetExhaustedError(
                f"API budget: {what} needs about {planned} requests but this run may send "
                f"only {left} more (ceiling {self.ceiling} = {self.share:.0%} of the daily "
                f"requests remaining at the start; {self.used_by_run} used by this run). "
                "Nothing more was sent; run again later or raise api_budget_share."
            )

    def charge(self) -> None:
        self.used_by_run += 1
        if self.remaining is not None:
            self.remaining = max(0, self.remaining - 1)


# -- rate limiting -----------------------------------------------------------------


@dataclass(slots=True)
class TokenBucket:
    """At most `rate` requests per `per` seconds on average, bursts up to `capacity`."""

    rate: float
    per: float = 1.0
    capacity: float | None = None
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _tokens: float = field(init=False, default=0.0)
    _stamp: float | None = field(init=False, default=None)

    def _fill(self) -> None:
        now = self.clock()
        cap = self.capacity if self.capacity is not None else self.rate
        if self._stamp is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + (now - self._stamp) * self.rate / self.per)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds slept."""
        self._fill()
        waited = 0.0
        if self._tokens < 1:
            waited = (1 - self._tokens) * self.per / self.rate
            self.sleep(waited)
            self._fill()
        self._tokens -= 1
        return waited


# -- retrying ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    # A server's Retry-After is honoured up to this long (longer: wait this much).
    max_hinted_seconds: float = 300.0
    sleep: Sleep = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    # (connect, read) seconds; requests has no default, so a hung server would hang us.
    timeout: tuple[float, float] = (10.0, 120.0)

    def backoff(self, attempt: int, hinted: float | None) -> float:
        """Retry-After when given (capped), else exponential with jitter ("equal jitter":
        half fixed, half random) so parallel runs do not retry in lockstep."""
        if hinted is not None:
            return min(hinted, self.max_hinted_seconds)
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + float(self.rng.uniform(0, ceiling / 2))


class TokenSource(Protocol):
    """Where the session gets the bearer token, and how it gets a new one."""

    @property
    def access_token(self) -> str: ...

    def refresh(self) -> None:
        """Get a new token; raise AuthenticationError when that is impossible."""
        ...


class _RetryableError(Exception):
    """Internal: this attempt should be repeated after the decision's wait."""

    def __init__(self, decision: Decision, response: requests.Response | None) -> None:
        self.decision = decision
        self.response = response


def _where(method: str, url: str) -> str:
    # The path only: queries carry SOQL, and nothing in a URL is worth repeating.
    return f"{method} {urlsplit(url).path}"


class RetryingSession(requests.Session):
    """A requests.Session that sends every request through the decision function,
    the retry policy, the rate limiter and the budget, and keeps the bearer token.

    `trust_env` is off: REQUESTS_CA_BUNDLE would silently override `verify`, and proxies
    and .netrc from the environment have no place in a scheduled job. Any request that
    carries an Authorization header gets the current token, so a refresh applies to
    SDK objects built before it.
    """

    def __init__(
        self,
        decide: Decide,
        *,
        policy: RetryPolicy | None = None,
        budget: ApiBudget | None = None,
        limiter: TokenBucket | None = None,
        tokens: TokenSource | None = None,
        verify: str | bool = True,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = verify
        self.decide = decide
        self.policy = policy or RetryPolicy()
        self.budget = budget or ApiBudget()
        self.limiter = limiter
        self.tokens = tokens
        self.requests_sent = 0

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else method
        target = url.decode() if isinstance(url, bytes) else url
        return self.send_with_policy(
            verb.upper(), target, verb.upper() in IDEMPOTENT_METHODS, *args, **kwargs
        )

    def send_with_policy(
        self, method: str, url: str, replayable: bool, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with retries. `replayable`: sending it twice is harmless (reads, token
        requests); other requests are re-sent only when the decision is replay-safe."""
        kwargs.setdefault("timeout", self.policy.timeout)
        state = {"refreshed": False}

        def wait(retry_state: RetryCallState) -> float:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            hinted = exc.decision.wait_seconds if isinstance(exc, _RetryableError) else None
            return self.policy.backoff(retry_state.attempt_number, hinted)

        retrying = Retrying(
            sleep=self.policy.sleep,
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=wait,
            retry=retry_if_exception_type(_RetryableError),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(method, url, replayable, state, args, kwargs)
        except _RetryableError as last:
            raise RequestError(
                f"{_where(method, url)}: gave up after {self.policy.max_attempts} attempts: "
                f"{last.decision.reason}",
                status=last.response.status_code if last.response is not None else None,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _attempt(
        self,
        method: str,
        url: str,
        replayable: bool,
        state: dict[str, bool],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        headers: Mapping[str, str] = kwargs.get("headers") or {}
        carries_token = "Authorization" in headers
        if self.tokens is not None and carries_token:
            kwargs["headers"] = {**headers, "Authorization": f"Bearer {self.tokens.access_token}"}
        self.budget.check(1)
        if self.limiter is not None:
            self.limiter.acquire()
        self.budget.charge()
        self.requests_sent += 1
        try:
            response = super().request(method, url, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            decision = decide_transport(exc)
            if decision.action is Action.FAIL:
                raise RequestError(f"{_where(method, url)}: {decision.reason}") from None
            if replayable or decision.replay_safe:
                log.info("%s: %s; retrying", _where(method, url), decision.reason)
                raise _RetryableError(decision, None) from None
            raise OutcomeUnknownError(
                f"{_where(method, url)}: {decision.reason} after the request was sent; "
                "it may or may not have been applied"
            ) from None
        self.budget.observe_headers(response.headers)
        decision = self.decide(response.status_code, response.headers, response.content)
        if decision.action in (Action.SUCCESS, Action.FAIL):
            state["refreshed"] = False
            # FAIL: the SDK turns the response into its exception; the caller maps it.
            return response
        if decision.action is Action.STOP_RUN:
            raise DailyLimitError(
                f"{_where(method, url)}: {decision.reason.rstrip('.')}. The org's daily API "
                "request limit is used up: the run stopped; what was done so far is kept."
            )
        if decision.action is Action.REFRESH_TOKEN_THEN_RETRY and not carries_token:
            return response  # the token endpoint itself: its caller reports the refusal
        if decision.action is Action.REFRESH_TOKEN_THEN_RETRY:
            if self.tokens is None or state["refreshed"]:
                raise AuthenticationError(
                    f"{_where(method, url)}: {decision.reason}: the CRM rejected "
                    + ("the refreshed access token too" if state["refreshed"] else "the token")
                    + "; check the credentials named in the profile's auth section"
                )
            self.tokens.refresh()
            state["refreshed"] = True
            raise _RetryableError(Decision(Action.RETRY, decision.reason, 0.0, True), response)
        state["refreshed"] = False  # "twice in a row" is what makes a 401 fatal
        if replayable or decision.replay_safe:
            log.info("%s: %s; retrying", _where(method, url), decision.reason)
            raise _RetryableError(decision, response)
        # A write that may have been processed: let the caller read before re-sending.
        raise OutcomeUnknownError(
            f"{_where(method, url)}: {decision.reason}; the write may have been applied",
            status=response.status_code,
        )
