"""HubSpot's decisions, limiters and the call runner on bare values: no network, an
injected clock and sleep."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import urllib3

from roleSync.adapters.resilience import (
    Action,
    AuthenticationError,
    CallRunner,
    DailyLimitError,
    HubSpotLimiter,
    OutcomeUnknownError,
    RefusedError,
    RequestError,
    RetryPolicy,
    RollingWindow,
    decide_hubspot,
    decide_urllib3_transport,
    rate_limit_headers,
)
from roleSync.errors import ExitCode


def body(**fields: object) -> bytes:
    return json.dumps({"status": "error", "message": "m", **fields}).encode()


@pytest.mark.parametrize(
    ("status", "payload", "action", "replay_safe"),
    [
        (200, b"{}", Action.SUCCESS, False),
        (207, b"{}", Action.SUCCESS, False),
        (429, body(policyName="TEN_SECONDLY_ROLLING"), Action.RATE_LIMITED, True),
        (429, body(policyName="SECONDLY"), Action.RATE_LIMITED, True),
        (429, body(policyName="DAILY"), Action.STOP_RUN, False),
        (429, b"", Action.RATE_LIMITED, True),
        (401, body(category="EXPIRED_AUTHENTICATION"), Action.REFRESH_TOKEN_THEN_RETRY, True),
        (503, body(category="SERVICE_UNAVAILABLE"), Action.RETRY, True),
        (502, b"<html>Bad Gateway</html>", Action.RETRY, False),
        (500, body(category="INTERNAL_ERROR"), Action.RETRY, False),
        (504, b"", Action.RETRY, False),
        (400, body(category="VALIDATION_ERROR"), Action.FAIL, False),
        (403, body(category="MISSING_SCOPES"), Action.FAIL, False),
        (409, body(category="OBJECT_ALREADY_EXISTS"), Action.FAIL, False),
    ],
)  # fmt: skip
def test_hubspot_decisions(status: int, payload: bytes, action: Action, replay_safe: bool) -> None:
    decision = decide_hubspot(status, {}, payload)
    assert decision.action is action
    assert decision.replay_safe is replay_safe


def test_decision_carries_category_and_retry_after() -> None:
    decision = decide_hubspot(
        429, {"retry-after": "3"}, body(policyName="TEN_SECONDLY_ROLLING", message="slow down")
    )
    assert decision.wait_seconds == 3.0 and decision.code == "TEN_SECONDLY_ROLLING"
    refused = decide_hubspot(400, {}, body(category="VALIDATION_ERROR", message="bad"))
    assert refused.code == "VALIDATION_ERROR" and refused.reason == "HTTP 400 VALIDATION_ERROR: bad"


def test_transport_decisions() -> None:
    pool: Any = None
    read = decide_urllib3_transport(urllib3.exceptions.ReadTimeoutError(pool, "/x", "timed out"))
    assert read.action is Action.RETRY and not read.replay_safe
    dropped = decide_urllib3_transport(urllib3.exceptions.ProtocolError("Connection aborted."))
    assert dropped.action is Action.RETRY and not dropped.replay_safe
    refused = decide_urllib3_transport(urllib3.exceptions.NewConnectionError(pool, "refused"))
    assert refused.action is Action.RETRY and refused.replay_safe  # never sent
    wrapped = decide_urllib3_transport(
        urllib3.exceptions.MaxRetryError(pool, "/x", urllib3.exceptions.ProtocolError("x"))
    )
    assert wrapped.action is Action.RETRY and not wrapped.replay_safe
    assert decide_urllib3_transport(ValueError("?")).action is Action.FAIL


def test_rate_limit_headers() -> None:
    headers = {
        "X-HubSpot-RateLimit-Max": "190",
        "x-hubspot-ratelimit-remaining": "12",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    assert rate_limit_headers(headers) == (190, 12, 10.0)
    assert rate_limit_headers({}) == (None, None, None)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rolling_window_keeps_under_the_limit() -> None:
    t = FakeTime()
    window = RollingWindow(3, 10.0, clock=t.clock, sleep=t.sleep)
    sent = []
    for _ in range(7):
        window.acquire()
        sent.append(t.now)
        t.now += 0.5
    # Never 4 requests in one 10-second window.
    assert all(sent[i + 3] - sent[i] >= 10.0 for i in range(len(sent) - 3))
    assert sent[3] == pytest.approx(10.0)


def test_limiter_follows_the_headers_and_other_clients() -> None:
    t = FakeTime()
    limiter = HubSpotLimiter(
        burst=RollingWindow(100, 10.0, clock=t.clock, sleep=t.sleep),
        search=RollingWindow(4, 1.0, clock=t.clock, sleep=t.sleep),
    )
    limiter.acquire(False)
    limiter.completed(False)
    # The portal is Professional (190), and others used 150 of it already.
    limiter.observe(190, 39, 10.0)
    assert limiter.burst.limit == 190 and limiter.burst.used == 151
    for _ in range(39):
        limiter.acquire(False)
    assert not t.slept
    limiter.acquire(False)  # the 191st in the window waits for the oldest to leave
    assert t.slept and t.slept[0] == pytest.approx(10.0)
    capped = HubSpotLimiter(
        burst=RollingWindow(100, 10.0, clock=t.clock, sleep=t.sleep),
        search=RollingWindow(4, 1.0, clock=t.clock, sleep=t.sleep),
        cap=80,
    )
    capped.observe(190, 190, 10.0)
    assert capped.burst.limit == 80  # an explicit ceiling wins over the headers


def test_search_has_its_own_window() -> None:
    t = FakeTime()
    limiter = HubSpotLimiter(
        burst=RollingWindow(100, 10.0, clock=t.clock, sleep=t.sleep),
        search=RollingWindow(4, 1.0, clock=t.clock, sleep=t.sleep),
    )
    for _ in range(9):
        limiter.acquire(True)
    assert t.now == pytest.approx(2.0)  # 4 a second: the 5th and the 9th waited
    assert limiter.burst.used == 9  # a search counts against the burst window too
    assert limiter.refused(True, None) == pytest.approx(1.0)  # until the search window rolls
    assert limiter.refused(False, 2.5) == 2.5  # Retry-After when given


class FakeApiError(Exception):
    """Shaped like the SDK's ApiException: classified by `.status`, not by class."""

    def __init__(self, status: int, payload: bytes = b"", headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = payload.decode()
        self.headers = headers or {}


def runner(**kwargs: Any) -> tuple[CallRunner, FakeTime]:
    t = FakeTime()
    policy = RetryPolicy(sleep=t.sleep, rng=random.Random(1), max_attempts=4)
    return CallRunner(decide_hubspot, policy=policy, **kwargs), t


def answers(*steps: object) -> Callable[[], Any]:
    queue = list(steps)

    def send() -> Any:
        step = queue.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    return send


def test_429_waits_and_goes_on_even_for_writes() -> None:
    run, t = runner()
    limited = FakeApiError(429, body(policyName="TEN_SECONDLY_ROLLING"), {"Retry-After": "2"})
    assert run.run("w", answers(limited, ({"ok": 1}, 200, {})), replayable=False) == {"ok": 1}
    assert t.slept == [2.0] and run.rate_limited == 1


def test_daily_stops_the_run_and_nothing_more_is_sent() -> None:
    run, _ = runner()
    daily = FakeApiError(429, body(policyName="DAILY"))
    with pytest.raises(DailyLimitError) as caught:
        run.run("list", answers(daily), replayable=True)
    assert caught.value.exit_code is ExitCode.GUARDRAIL
    sent = run.requests_sent
    with pytest.raises(DailyLimitError):
        run.run("list", answers(({}, 200, {})), replayable=True)
    assert run.requests_sent == sent


class Tokens:
    def __init__(self, works: bool = True) -> None:
        self.refreshed = 0
        self.works = works

    @property
    def access_token(self) -> str:
        return f"t{self.refreshed}"

    def refresh(self) -> None:
        if not self.works:
            raise AuthenticationError("cannot refresh")
        self.refreshed += 1


def test_401_refreshes_once_then_is_fatal() -> None:
    tokens = Tokens()
    run, _ = runner(tokens=tokens)
    expired = FakeApiError(401, body(category="EXPIRED_AUTHENTICATION"))
    assert run.run("r", answers(expired, ({}, 200, {})), replayable=True) == {}
    assert tokens.refreshed == 1
    with pytest.raises(AuthenticationError, match="refreshed access token too"):
        run.run("r", answers(expired, expired), replayable=True)
    with pytest.raises(AuthenticationError, match="cannot refresh"):
        runner(tokens=Tokens(works=False))[0].run("r", answers(expired), replayable=True)


def test_a_write_without_an_answer_is_never_sent_again() -> None:
    run, _ = runner()
    pool: Any = None
    lost = urllib3.exceptions.ReadTimeoutError(pool, "/batch/update", "timed out")
    with pytest.raises(OutcomeUnknownError):
        run.run("w", answers(lost), replayable=False)
    assert run.requests_sent == 1
    # A 503 was refused before any work: a write may go again.
    unavailable = FakeApiError(503, body(category="SERVICE_UNAVAILABLE"))
    assert run.run("w", answers(unavailable, ({}, 200, {})), replayable=False) == {}
    # A read is simply sent again.
    assert run.run("r", answers(lost, ({"x": 1}, 200, {})), replayable=True) == {"x": 1}


def test_none_from_the_sdk_is_an_error() -> None:
    run, _ = runner()
    with pytest.raises(RequestError, match="HTTP 202"):
        run.run("r", answers((None, 202, {})), replayable=True)
    with pytest.raises(OutcomeUnknownError):
        run.run("w", answers((None, 202, {})), replayable=False)


def test_refusals_and_exhausted_retries() -> None:
    run, t = runner()
    with pytest.raises(RefusedError) as caught:
        run.run("r", answers(FakeApiError(400, body(category="VALIDATION_ERROR"))), replayable=True)
    assert caught.value.status == 400 and caught.value.code == "VALIDATION_ERROR"
    bad = FakeApiError(502, b"<html/>")
    with pytest.raises(RequestError, match="gave up after 4 attempts"):
        run.run("r", answers(bad, bad, bad, bad), replayable=True)
    assert len(t.slept) == 3  # backoff between attempts
