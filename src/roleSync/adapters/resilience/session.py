"""The retry policy, and the requests.Session that applies it to every request of an SDK
built on requests (simple-salesforce)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from roleSync.adapters.resilience.budget import ApiBudget
from roleSync.adapters.resilience.decisions import Action, Decide, Decision, decide_transport
from roleSync.adapters.resilience.errors import (
    AuthenticationError,
    DailyLimitError,
    OutcomeUnknownError,
    RequestError,
)
from roleSync.adapters.resilience.limits import TokenBucket

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


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
        self._reading = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Requests sent inside only read, whatever their method, so they are re-sent
        like a GET: for reads an API makes POSTs because the ids travel in the body
        (Salesforce's sObject Collections retrieve). Without it a 503 or a dropped
        connection on one would be an unknown outcome, when reading again is all it takes."""
        self._reading += 1
        try:
            yield
        finally:
            self._reading -= 1

    @contextmanager
    def streamed(self, method: str, url: str, **kwargs: Any) -> Iterator[requests.Response]:
        """The answer with its body unread when it is a 2xx (read it with
        `iter_content`), closed on the way out so its connection goes back to the pool
        or is dropped. Retries, the budget and token refreshes apply as to any request;
        what goes wrong while the caller reads the body is the caller's to report."""
        response = self.request(method, url, stream=True, **kwargs)
        try:
            yield response
        finally:
            response.close()

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        target = url.decode() if isinstance(url, bytes) else url
        replayable = self._reading > 0 or verb in IDEMPOTENT_METHODS
        return self.send_with_policy(verb, target, replayable, *args, **kwargs)

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
        # stream=True: a 2xx body is left unread for the caller to read in chunks (a
        # Bulk results page of 100,000 rows); every decide function says SUCCESS for a
        # 2xx on the status alone. Error bodies are small and decide the retry: read.
        unread = bool(kwargs.get("stream")) and 200 <= response.status_code < 300
        body = None if unread else response.content
        decision = self.decide(response.status_code, response.headers, body)
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
