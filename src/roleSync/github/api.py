"""GitHub's issue-comment endpoints over requests, through the project's retry policy.

Pull-request conversation comments are issue comments: listed with GET
/repos/{owner}/{repo}/issues/{number}/comments (oldest first, `per_page` up to 100, the
next page named by the Link header), created with POST on the same path, edited with
PATCH /repos/{owner}/{repo}/issues/comments/{id}; each takes and returns `{"body": ...}`.

Retries: 5xx and rate limits. GitHub answers a secondary rate limit with 403 or 429 and
an error message, with Retry-After when it says how long to wait; a used-up primary
limit has `x-ratelimit-remaining: 0` and the reset time in `x-ratelimit-reset`. A
rate-limited request was refused before anything happened, so even a POST is sent again.
Every other refusal is one line naming what to fix; the token is never in it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from roleSync import __version__
from roleSync.adapters.resilience import (
    Action,
    Decision,
    OutcomeUnknownError,
    RequestError,
    RetryingSession,
    RetryPolicy,
    retry_after_seconds,
)
from roleSync.errors import RoleSyncError
from roleSync.github.context import Target

API_VERSION = "2022-11-28"
PER_PAGE = 100
# 100 pages of 100: far beyond any pull request's conversation; a Link header that
# never ends stops here instead of looping.
MAX_PAGES = 100
# A used-up primary limit resetting later than this is reported, not waited out.
MAX_RESET_WAIT_SECONDS = 300.0
# GitHub asks for at least a minute when a secondary limit comes without Retry-After.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0


class GitHubError(RoleSyncError):
    """GitHub refused a request for good: one line, what to fix."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WriteOutcomeUnknownError(GitHubError):
    """A write was sent but its answer was lost: the comment may exist now."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def error_message(body: bytes | str | None) -> str:
    """GitHub's `message`, with the `errors[].message` of a 422 after it; "" when the
    body is not GitHub's JSON error."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message") or "").strip()]
    errors = data.get("errors")
    for item in errors if isinstance(errors, list) else []:
        text = item.get("message") or item.get("code") if isinstance(item, dict) else item
        if text:
            parts.append(str(text).strip())
    return ": ".join(p for p in parts if p)[:300]


def decide_github(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | None,
    *,
    now: Callable[[], float] = time.time,
) -> Decision:
    """What to do with a GitHub REST answer."""
    if 200 <= status < 300:
        return Decision(Action.SUCCESS)
    message = error_message(body)
    reason = f"HTTP {status}" + (f": {message}" if message else "")
    if status in (403, 429):
        wait = retry_after_seconds(headers)
        remaining = _header(headers, "x-ratelimit-remaining")
        if wait is None and remaining is not None and remaining.strip() == "0":
            reset = _header(headers, "x-ratelimit-reset") or ""
            wait = max(0.0, float(reset) - now()) if reset.strip().isdigit() else None
            if wait is None or wait > MAX_RESET_WAIT_SECONDS:
                return Decision(Action.FAIL, reason + " (the API rate limit is used up)")
        if wait is None and "rate limit" in message.lower():
            wait = SECONDARY_LIMIT_WAIT_SECONDS
        if wait is not None:
            return Decision(Action.RATE_LIMITED, reason, wait, replay_safe=True)
        return Decision(Action.FAIL, reason)
    if status == 503:
        return Decision(Action.RETRY, reason, retry_after_seconds(headers), replay_safe=True)
    if status in (500, 502, 504):
        # The comment may have been written before the failure: only reads are repeated.
        return Decision(Action.RETRY, reason, retry_after_seconds(headers))
    return Decision(Action.FAIL, reason)


def refusal(status: int, message: str, what: str) -> str:
    """The one line for a request GitHub refused, with what to do about it."""
    said = f"HTTP {status}" + (f": {message}" if message else "")
    if status == 401:
        return (
            f"GitHub refused the token while {what} ({said}): check the action's `token` "
            "input (ROLESYNC_GITHUB_TOKEN)"
        )
    if status == 403:
        return (
            f"GitHub refused {what} ({said}): the token needs `pull-requests: write` "
            "(the workflow's permissions); a pull request from a fork gets a read-only token"
        )
    if status == 404:
        return (
            f"GitHub found nothing while {what} ({said}): check the repository and the pull "
            "request number, and that the token can see the repository"
        )
    return f"GitHub refused {what} ({said})"


class GitHubClient:
    """The issue-comment calls for one repository, with the token in every request's
    Authorization header and nowhere else."""

    def __init__(self, target: Target, *, policy: RetryPolicy | None = None) -> None:
        self.target = target
        self.session = RetryingSession(decide_github, policy=policy)
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"rolesync/{__version__}",
            }
        )
        # The retrying session ignores the environment (see RetryingSession); a
        # self-hosted runner behind a proxy still needs HTTPS_PROXY / NO_PROXY, for the
        # one host this client talks to.
        self.session.proxies = requests.utils.get_environ_proxies(target.api_url)
        self._origin = urlsplit(target.api_url)[:2]

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.target.token}"}
        try:
            response = self.session.request(method, url, headers=headers, **kwargs)
        except OutcomeUnknownError as exc:
            message = self._scrub(f"GitHub: {what}: {exc}")
            raise WriteOutcomeUnknownError(message, status=exc.status) from None
        except RequestError as exc:
            raise GitHubError(self._scrub(f"GitHub: {what}: {exc}"), status=exc.status) from None
        if not 200 <= response.status_code < 300:
            message = refusal(response.status_code, error_message(response.content), what)
            raise GitHubError(self._scrub(message), status=response.status_code)
        return response

    def _scrub(self, text: str) -> str:
        # Nothing here quotes the token; should GitHub's answer ever echo it, it goes.
        return text.replace(self.target.token, "***") if self.target.token else text

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise GitHubError(f"GitHub answered {what} with something not JSON") from None

    def list_comments(self) -> list[dict[str, Any]]:
        """Every comment of the pull request, oldest first, following the Link header."""
        t = self.target
        what = f"listing the comments of {t.repository}#{t.pull_request}"
        url: str | None = f"{t.api_url}/repos/{t.repository}/issues/{t.pull_request}/comments"
        params: dict[str, int] | None = {"per_page": PER_PAGE}
        comments: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return comments
            response = self._call("GET", url, what, params=params)
            page = self._json(response, what)
            if not isinstance(page, list):
                raise GitHubError(f"GitHub answered {what} with something not a list")
            comments.extend(c for c in page if isinstance(c, dict))
            url, params = self._next_page(response), None  # the next URL carries them
        if url is None:
            return comments
        raise GitHubError(f"GitHub: {what}: more than {MAX_PAGES} pages; stopped")

    def _next_page(self, response: requests.Response) -> str | None:
        url = response.links.get("next", {}).get("url")
        if url is None:
            return None
        # The token goes with the request: never to another host than the API's.
        if urlsplit(url)[:2] != self._origin:
            raise GitHubError(f"GitHub's next page is on another host ({urlsplit(url).netloc})")
        return str(url)

    def create_comment(self, body: str) -> dict[str, Any]:
        t = self.target
        what = f"creating the review comment on {t.repository}#{t.pull_request}"
        url = f"{t.api_url}/repos/{t.repository}/issues/{t.pull_request}/comments"
        return self._comment(self._json(self._call("POST", url, what, json={"body": body}), what))

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        t = self.target
        what = f"updating comment {comment_id} on {t.repository}#{t.pull_request}"
        url = f"{t.api_url}/repos/{t.repository}/issues/comments/{comment_id}"
        answer = self._call("PATCH", url, what, json={"body": body})
        return self._comment(self._json(answer, what))

    @staticmethod
    def _comment(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise GitHubError("GitHub answered without the comment's id")
        return data
