"""Run the calls of an SDK that is not built on requests (hubspot-api-client: urllib3)
through the same decisions, retry policy, rate limits and token refresh.

The SDK's own retries are off; a call is a function that sends one request and either
returns `(data, status, headers)` (the SDKs' `*_with_http_info` form) or raises. An
exception with an integer `.status` is an HTTP answer (the SDK's ApiException and its
subclasses, whatever package they come from: classified by status, not by class);
anything else is a transport error for `decide_transport`.

Writes follow the rule of `RetryingSession`: a non-idempotent request is sent again only
when the decision says the server cannot have acted on it; otherwise
`OutcomeUnknownError`, and the caller reads before it writes again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from roleSync.adapters.resilience.decisions import (
    Action,
    Decide,
    Decision,
    decide_urllib3_transport,
    rate_limit_headers,
)
from roleSync.adapters.resilience.errors import (
    AuthenticationError,
    DailyLimitError,
    OutcomeUnknownError,
    RefusedError,
    RequestError,
)
from roleSync.adapters.resilience.session import RetryPolicy, TokenSource
from roleSync.errors import RoleSyncError

log = logging.getLogger(__name__)

T = TypeVar("T")
Answer = tuple[Any, int, Mapping[str, str]]


class CallLimiter(Protocol):
    """What the runner needs of a rate limiter (HubSpotLimiter is one)."""

    def acquire(self, search: bool) -> float: ...

    def completed(self, search: bool) -> None: ...

    def observe(
        self, maximum: int | None, remaining: int | None, interval: float | None
    ) -> None: ...

    def refused(self, search: bool, hinted: float | None) -> float: ...


def _headers(raw: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in dict(raw or {}).items()}
    except (TypeError, ValueError):
        return {}


class CallRunner:
    """Every call of one client goes through `run`: the one place that waits, retries,
    refreshes the token and stops the run."""

    def __init__(
        self,
        decide: Decide,
        *,
        policy: RetryPolicy | None = None,
        limiter: CallLimiter | None = None,
        tokens: TokenSource | None = None,
        transport: Callable[[BaseException], Decision] = decide_urllib3_transport,
        max_rate_limited: int = 30,
    ) -> None:
        self.decide = decide
        self.policy = policy or RetryPolicy()
        self.limiter = limiter
        self.tokens = tokens
        self.transport = transport
        # 429s are waited out, not counted as failed attempts, but not for ever either.
        self.max_rate_limited = max_rate_limited
        self.requests_sent = 0
        self.rate_limited = 0  # 429s received (any policy but DAILY)
        self.retried = 0
        # Set once the CRM said the day's requests are used up: no request goes out after.
        self.stopped: str | None = None

    def run(
        self,
        what: str,
        send: Callable[[], Answer],
        *,
        replayable: bool,
        search: bool = False,
        refreshable: bool = True,
    ) -> Any:
        """Send until a decision ends it. `replayable`: sending it twice is harmless (reads,
        token requests). `refreshable`: a 401 may be cured by a new token (not for the
        token request itself). Returns the SDK's data, never None."""
        attempts = 0
        limited = 0
        refreshed = False
        while True:
            if self.stopped is not None:
                raise DailyLimitError(self.stopped)
            if self.limiter is not None:
                self.limiter.acquire(search)
            self.requests_sent += 1
            data: Any = None
            status: int | None
            try:
                data, status, raw_headers = send()
            except RoleSyncError:
                raise  # e.g. a token refresh inside `send` failed: already explained
            except Exception as exc:
                decision, status, headers = self._classify(exc)
            else:
                decision = Decision(Action.SUCCESS)
                headers = _headers(raw_headers)
            if self.limiter is not None:
                self.limiter.completed(search)
                self.limiter.observe(*rate_limit_headers(headers))
            action = decision.action
            if action is Action.SUCCESS:
                if data is None:
                    # The SDK picks its model by the exact status; any other 2xx gives None.
                    message = f"{what}: HTTP {status} with no result the SDK could read"
                    if replayable:
                        raise RequestError(message, status=status)
                    raise OutcomeUnknownError(message + "; the write may have been applied")
                return data
            if action is Action.FAIL:
                raise RefusedError(f"{what}: {decision.reason}", status=status, code=decision.code)
            if action is Action.STOP_RUN:
                self.stopped = (
                    f"{what}: {decision.reason.rstrip('.')}. The portal's daily API request "
                    "limit is used up: the run stopped; what was done so far is kept."
                )
                raise DailyLimitError(self.stopped)
            if action is Action.REFRESH_TOKEN_THEN_RETRY:
                if not refreshable or self.tokens is None or refreshed:
                    raise AuthenticationError(
                        f"{what}: {decision.reason}: the CRM rejected "
                        + ("the refreshed access token too" if refreshed else "the token")
                        + "; check the credentials named in the profile's auth section"
                    )
                self.tokens.refresh()
                refreshed = True
                continue
            refreshed = False  # "twice in a row" is what makes a 401 fatal
            if action is Action.RATE_LIMITED:
                self.rate_limited += 1
                limited += 1
                if limited > self.max_rate_limited:
                    raise RequestError(
                        f"{what}: still rate limited after {limited - 1} waits: {decision.reason}",
                        status=status,
                    )
                hinted = decision.wait_seconds
                wait = (
                    self.limiter.refused(search, hinted)
                    if self.limiter is not None
                    else self.policy.backoff(limited, hinted)
                )
                log.info("%s: %s; waiting %.1f s", what, decision.reason, wait)
                self.policy.sleep(min(wait, self.policy.max_hinted_seconds))
                continue
            # RETRY
            if not (replayable or decision.replay_safe):
                raise OutcomeUnknownError(
                    f"{what}: {decision.reason} after the request was sent; "
                    "it may or may not have been applied",
                    status=status,
                )
            attempts += 1
            if attempts >= self.policy.max_attempts:
                raise RequestError(
                    f"{what}: gave up after {attempts} attempts: {decision.reason}",
                    status=status,
                )
            self.retried += 1
            log.info("%s: %s; retrying", what, decision.reason)
            self.policy.sleep(self.policy.backoff(attempts, decision.wait_seconds))

    def _classify(self, exc: Exception) -> tuple[Decision, int | None, dict[str, str]]:
        status = getattr(exc, "status", None)
        if isinstance(status, int) and not isinstance(status, bool) and status >= 100:
            headers = _headers(getattr(exc, "headers", None))
            body = getattr(exc, "body", None)
            text = body if isinstance(body, bytes | str) else None
            return self.decide(status, headers, text), status, headers
        if status == 0:
            # The SDK's wrapping of a TLS failure: ApiException(status=0, reason=...).
            reason = str(getattr(exc, "reason", "") or type(exc).__name__).splitlines()[0]
            return Decision(Action.FAIL, f"TLS failed ({reason}): check the CA bundle"), None, {}
        return self.transport(exc), None, {}
