"""Decision functions: what to do with a response or a transport error, decided on bare
values (airbyte style) and unit-testable without a network."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import requests
import urllib3


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
    # The CRM's own name for the error (HubSpot's category, Salesforce's errorCode).
    code: str = ""


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
    except (ValueError, RecursionError):  # RecursionError: nested without end
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


# -- HubSpot -----------------------------------------------------------------------


def hubspot_error(body: bytes | str | None) -> dict[str, object]:
    """HubSpot's error body `{"status": "error", "message", "category", ...}` (429s add
    `errorType` and `policyName`); {} when the body is not JSON (a proxy's HTML page)."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested without end
        return {}
    return data if isinstance(data, dict) else {}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def decide_hubspot(status: int, headers: Mapping[str, str], body: bytes | str | None) -> Decision:
    """What to do with a HubSpot answer.

    429 DAILY stops the run (waiting would take until midnight); any other 429
    (TEN_SECONDLY_ROLLING, SECONDLY for search) waits and goes on: the request was
    refused before anything happened, so even a write may be sent again. 401 gets one
    token refresh. 503 means the request was not taken on; 500/502/504 may come after
    the work was done, so only reads are repeated.
    """
    if 200 <= status < 300:
        return Decision(Action.SUCCESS)
    error = hubspot_error(body)
    code = str(error.get("category") or error.get("errorType") or error.get("status") or "")
    # OAuth refusals name the problem in `status` (BAD_REFRESH_TOKEN) next to a category.
    named = str(error.get("status") or "")
    label = f"{code} {named}" if named not in ("", "error", code) else code
    message = str(error.get("message") or "").strip()
    reason = f"HTTP {status}" + (f" {label}" if label else "") + (f": {message}" if message else "")
    wait = retry_after_seconds(headers)
    if status == 429:
        policy = str(error.get("policyName") or "")
        if policy == "DAILY":
            return Decision(Action.STOP_RUN, reason, code="DAILY")
        return Decision(Action.RATE_LIMITED, reason, wait, replay_safe=True, code=policy or code)
    if status == 401:
        return Decision(Action.REFRESH_TOKEN_THEN_RETRY, reason, replay_safe=True, code=code)
    if status == 503:
        return Decision(Action.RETRY, reason, wait, replay_safe=True, code=code)
    if status in (500, 502, 504):
        return Decision(Action.RETRY, reason, wait, code=code)
    return Decision(Action.FAIL, reason, code=code)


def decide_urllib3_transport(exc: BaseException) -> Decision:
    """Errors of urllib3 itself (SDKs built on it, with urllib3's retries off): retry;
    replay-safe only when the connection was never made, so nothing was sent.

    A read timeout or a connection dropped mid-answer (ProtocolError) may come after the
    server acted on the request: a write that met one has an unknown outcome.
    """
    name = type(exc).__name__
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return decide_urllib3_transport(exc.reason)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return Decision(Action.FAIL, f"TLS failed ({name}): check the CA bundle")
    # NewConnectionError (refused, DNS) is a ConnectTimeoutError too.
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return Decision(Action.RETRY, f"could not connect ({name})", None, True)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return Decision(Action.RETRY, f"timed out waiting for the answer ({name})")
    if isinstance(exc, urllib3.exceptions.ProtocolError | urllib3.exceptions.HTTPError):
        return Decision(Action.RETRY, f"connection dropped ({name})")
    if isinstance(exc, ConnectionError | TimeoutError):
        return Decision(Action.RETRY, f"connection failed ({name})")
    return Decision(Action.FAIL, name)


def rate_limit_headers(headers: Mapping[str, str]) -> tuple[int | None, int | None, float | None]:
    """(Max, Remaining, interval in seconds) from HubSpot's X-HubSpot-RateLimit-* headers."""

    def number(name: str) -> int | None:
        raw = _header(headers, name)
        return int(raw) if raw is not None and raw.strip().isdigit() else None

    interval = number("X-HubSpot-RateLimit-Interval-Milliseconds")
    return (
        number("X-HubSpot-RateLimit-Max"),
        number("X-HubSpot-RateLimit-Remaining"),
        interval / 1000 if interval else None,
    )
