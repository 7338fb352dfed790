"""The retry/budget/rate policy on bare values: no network, injected sleep and clock."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import requests.adapters

from roleSync.adapters.resilience import (
    Action,
    ApiBudget,
    AuthenticationError,
    BudgetExhaustedError,
    DailyLimitError,
    OutcomeUnknownError,
    RequestError,
    RetryingSession,
    RetryPolicy,
    TokenBucket,
    decide_salesforce,
    decide_transport,
    parse_limit_info,
    retry_after_seconds,
)
from roleSync.errors import ExitCode


def body(code: str, message: str = "m") -> bytes:
    return json.dumps([{"message": message, "errorCode": code}]).encode()


# -- decisions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload", "action", "replay_safe"),
    [
        (200, b"{}", Action.SUCCESS, False),
        (204, b"", Action.SUCCESS, False),
        (401, body("INVALID_SESSION_ID", "Session expired"), Action.REFRESH_TOKEN_THEN_RETRY, True),
        (
            403,
            body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            Action.STOP_RUN,
            False,
        ),
        (
            403,
            body("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
            Action.RATE_LIMITED,
            True,
        ),
        (403, body("INSUFFICIENT_ACCESS"), Action.FAIL, False),
        (429, b"", Action.RATE_LIMITED, True),
        (503, body("SERVER_UNAVAILABLE"), Action.RETRY, True),
        (500, b"oops", Action.RETRY, False),
        (502, b"", Action.RETRY, False),
        (504, b"", Action.RETRY, False),
        (400, body("MALFORMED_QUERY"), Action.FAIL, False),
        (400, body("UNABLE_TO_LOCK_ROW"), Action.RETRY, True),
        (404, body("ENTITY_IS_DELETED"), Action.FAIL, False),
    ],
)
def test_salesforce_decisions(
    status: int, payload: bytes, action: Action, replay_safe: bool
) -> None:
    decision = decide_salesforce(status, {}, payload)
    assert decision.action is action
    assert decision.replay_safe is replay_safe


def test_decision_reason_names_the_error_code() -> None:
    decision = decide_salesforce(403, {}, body("REQUEST_LIMIT_EXCEEDED", "TotalRequests"))
    assert decision.reason == "REQUEST_LIMIT_EXCEEDED: TotalRequests"


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert decide_salesforce(503, {"Retry-After": "7"}, b"").wait_seconds == 7.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_transport_errors_are_retried_and_replay_safe_only_when_never_sent() -> None:
    assert decide_transport(requests.ConnectTimeout()).replay_safe is True
    dropped = decide_transport(requests.ConnectionError("Connection aborted."))
    assert dropped.action is Action.RETRY and dropped.replay_safe is False
    assert decide_transport(requests.ReadTimeout()).replay_safe is False
    assert decide_transport(ValueError()).action is Action.FAIL
    assert decide_transport(requests.exceptions.SSLError("bad cert")).action is Action.FAIL


def test_a_refused_connection_is_replay_safe() -> None:
    try:
        requests.get("https://127.0.0.1:1/", timeout=2)
    except requests.ConnectionError as exc:
        assert decide_transport(exc).replay_safe is True
    else:
        pytest.fail("something listens on port 1")


# -- budget ------------------------------------------------------------------------


def test_limit_info_header_is_parsed() -> None:
    assert parse_limit_info("api-usage=25/15000") == (25, 15000)
    assert parse_limit_info("api-usage=25/15000; per-app-api-usage=1/100(appName=x)") == (
        25,
        15000,
    )
    assert parse_limit_info("nothing") is None


def test_budget_ceiling_is_a_share_of_what_remained_at_the_start() -> None:
    budget = ApiBudget(share=0.2)
    budget.check(10_000)  # unknown yet: allowed
    budget.charge()
    budget.observe_headers({"Sforce-Limit-Info": "api-usage=5001/15000"})
    # 9999 remained after our first request, so 10000 at the start: ceiling 2000.
    assert budget.ceiling == 2000
    assert budget.left == 1999
    budget.check(1999)
    with pytest.raises(BudgetExhaustedError) as caught:
        budget.check(2000, "the apply")
    assert caught.value.exit_code is ExitCode.GUARDRAIL
    assert "the apply needs about 2000 requests" in str(caught.value)


def test_budget_never_exceeds_what_the_org_has_left() -> None:
    budget = ApiBudget(share=1.0)
    budget.observe_limits({"DailyApiRequests": {"Max": 15000, "Remaining": 100}})
    assert budget.left == 100
    budget.observe(14990, 15000)  # others used the org meanwhile
    assert budget.left == 10


# -- rate limiter ------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_paces() -> None:
    fake = FakeTime()
    bucket = TokenBucket(rate=10, per=1.0, capacity=3, clock=fake.clock, sleep=fake.sleep)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.1)
    fake.now += 10  # idle: refills to capacity, not beyond
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.1)


# -- the session, with a fake transport --------------------------------------------


def response(
    status: int, payload: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(payload).encode() if payload is not None else b""
    answer.headers.update(headers or {})
    return answer


class ScriptedTransport(requests.adapters.BaseAdapter):
    """A requests transport that plays a script of answers (mounted, not patched in)."""

    def __init__(self, answers: list[requests.Response | Exception]) -> None:
        super().__init__()
        self._answers: Iterator[requests.Response | Exception] = iter(answers)
        self.sent: list[tuple[str, dict[str, str]]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((str(request.method), dict(request.headers)))
        answer = next(self._answers)
        if isinstance(answer, Exception):
            raise answer
        answer.request = request
        answer.url = str(request.url)
        return answer

    def close(self) -> None:
        pass


class Script(RetryingSession):
    """A RetryingSession over a scripted transport, sleeping into a list."""

    def __init__(self, answers: list[requests.Response | Exception], **kw: Any) -> None:
        self.slept: list[float] = []
        policy = RetryPolicy(max_attempts=4, sleep=self.slept.append, rng=random.Random(1))
        super().__init__(decide_salesforce, policy=policy, **kw)
        self.transport = ScriptedTransport(answers)
        self.mount("https://", self.transport)

    @property
    def sent(self) -> list[tuple[str, dict[str, str]]]:
        return self.transport.sent


URL = "https://127.0.0.1:1/services/data/v62.0/query/"


def test_reads_are_retried_with_growing_backoff_then_succeed() -> None:
    session = Script([response(503), requests.ConnectionError("reset"), response(200, {})])
    assert session.request("GET", URL).status_code == 200
    assert len(session.slept) == 2
    assert session.slept[0] < session.slept[1] or session.slept[1] > 0.5
    assert session.requests_sent == 3


def test_retry_after_is_honoured() -> None:
    session = Script([response(503, headers={"Retry-After": "3"}), response(200, {})])
    session.request("GET", URL)
    assert session.slept == [3.0]


def test_retries_are_bounded() -> None:
    session = Script([response(503)] * 4)
    with pytest.raises(RequestError, match="gave up after 4 attempts"):
        session.request("GET", URL)


def test_a_write_whose_answer_was_lost_is_not_resent() -> None:
    session = Script([requests.ConnectionError("Connection aborted.")])
    with pytest.raises(OutcomeUnknownError):
        session.request("PATCH", URL, json={})
    assert len(session.sent) == 1


def test_a_write_refused_with_503_is_resent() -> None:
    session = Script([response(503), response(200, [])])
    assert session.request("PATCH", URL, json={}).status_code == 200
    assert len(session.sent) == 2


def test_daily_limit_stops_the_run() -> None:
    session = Script([response(403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "x"}])])
    with pytest.raises(DailyLimitError) as caught:
        session.request("GET", URL)
    assert caught.value.exit_code is ExitCode.GUARDRAIL


class Tokens:
    def __init__(self) -> None:
        self.token = "first"
        self.refreshes = 0

    @property
    def access_token(self) -> str:
        return self.token

    def refresh(self) -> None:
        self.refreshes += 1
        self.token = f"fresh-{self.refreshes}"


EXPIRED = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]


def test_one_refresh_then_retry_with_the_new_token() -> None:
    tokens = Tokens()
    session = Script([response(401, EXPIRED), response(200, {})], tokens=tokens)
    session.request("GET", URL, headers={"Authorization": "Bearer stale"})
    assert tokens.refreshes == 1
    assert [h["Authorization"] for _, h in session.sent] == ["Bearer first", "Bearer fresh-1"]


def test_a_second_401_in_a_row_is_fatal_and_names_no_token() -> None:
    tokens = Tokens()
    session = Script([response(401, EXPIRED), response(401, EXPIRED)], tokens=tokens)
    with pytest.raises(AuthenticationError) as caught:
        session.request("GET", URL, headers={"Authorization": "Bearer x"})
    assert "refreshed access token too" in str(caught.value)
    assert "fresh-1" not in str(caught.value) and "first" not in str(caught.value)


def test_budget_stops_before_the_request_that_would_cross_it() -> None:
    budget = ApiBudget(share=0.5)
    budget.observe(0, 4)  # ceiling 2
    session = Script([response(200, {}), response(200, {})], budget=budget)
    session.request("GET", URL)
    session.request("GET", URL)
    with pytest.raises(BudgetExhaustedError):
        session.request("GET", URL)
    assert len(session.sent) == 2


def test_session_ignores_the_environment() -> None:
    assert Script([]).trust_env is False


# -- streamed answers ----------------------------------------------------------------


class CountingBody(io.BytesIO):
    """A response body that counts the bytes read out of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def unread_response(status: int, data: bytes) -> tuple[requests.Response, CountingBody]:
    raw = CountingBody(data)
    answer = requests.Response()
    answer.status_code = status
    answer.raw = raw
    return answer, raw


def test_a_streamed_success_comes_back_unread_and_is_closed_after() -> None:
    error, error_body = unread_response(503, body("SERVER_UNAVAILABLE"))
    page, page_body = unread_response(200, b"a,b\n" * 50_000)
    session = Script([error, page])
    with session.streamed("GET", URL) as answer:
        # The 503's body was read to decide on it; the page's is the caller's to read.
        assert error_body.bytes_read > 0
        assert page_body.bytes_read == 0
        first = next(answer.iter_content(65_536))
        assert len(first) == 65_536
        assert page_body.bytes_read == 65_536
    assert page_body.closed
    assert session.requests_sent == 2
    assert len(session.slept) == 1


def test_a_streamed_refusal_is_decided_on_its_body() -> None:
    refused, refused_body = unread_response(403, body("REQUEST_LIMIT_EXCEEDED", "Total"))
    session = Script([refused])
    with pytest.raises(DailyLimitError), session.streamed("GET", URL):
        pass
    assert refused_body.bytes_read > 0
