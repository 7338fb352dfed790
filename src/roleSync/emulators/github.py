"""A loopback fake of GitHub's issue-comment API, for testing `rolesync pr-comment` and
the Action's review mode without the network.

Routes: GET and POST /repos/{owner}/{repo}/issues/{number}/comments (listed oldest
first, `page` and `per_page` up to 100, a Link header with `next` and `last`), PATCH
/repos/{owner}/{repo}/issues/comments/{id}. Every request needs `Authorization: Bearer
<token>` (or GitHub's older `token <token>`): 401 "Bad credentials" otherwise. Bodies
over 65,536 characters are refused 422, as GitHub does. Answers queued with `inject`
are given instead of the route's (rate limits, 5xx), one per request, to any request or
to one kind; `applied=True` serves the request first, then answers the error (a write
that happened, whose answer was lost).

Counters: list_comments, create_comment, update_comment (requests received of each
kind, errors too), unauthorized, not_found, invalid, injected, and the totals requests,
api_requests and write_requests.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from roleSync.emulators.base import LoopbackEmulator
from roleSync.emulators.http import Handler, Request, Response, handler_for, json_response

_LIST = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_ONE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
DOCS = "https://docs.github.com/rest"


@dataclass
class GitHubEmulatorConfig:
    token: str = field(default_factory=lambda: f"ghs_{secrets.token_hex(18)}")
    # Who comments written through the API are by (a workflow's GITHUB_TOKEN: this bot).
    login: str = "github-actions[bot]"
    max_body_chars: int = 65_536
    default_per_page: int = 30
    max_per_page: int = 100
    max_connections: int = 16
    request_deadline_seconds: float = 10.0
    log_size: int = 1000


@dataclass(frozen=True, slots=True)
class GitHubLogEntry:
    """One request as the fake saw it: never its headers or body (the token)."""

    sequence: int
    method: str
    path: str
    query: str
    status: int


@dataclass(frozen=True, slots=True)
class _Injected:
    answer: Response
    kind: str | None
    applied: bool


def _error(status: int, message: str, **extra: Any) -> Response:
    return json_response(
        status, {"message": message, **extra, "documentation_url": DOCS, "status": str(status)}
    )


class GitHubEmulator(LoopbackEmulator[GitHubEmulatorConfig, GitHubLogEntry]):
    """Pull requests and their comments, in memory. Use as a context manager."""

    thread_name = "github-emulator"

    def __init__(self, config: GitHubEmulatorConfig | None = None) -> None:
        super().__init__(config or GitHubEmulatorConfig())
        self._comments: dict[int, dict[str, Any]] = {}
        self._where: dict[int, tuple[str, int]] = {}  # comment id -> (repo, number)
        self._pulls: set[tuple[str, int]] = set()
        self._next_id = 1_000_000
        self._injected: deque[_Injected] = deque()

    def _handler(self) -> type[Handler]:
        return handler_for(self.dispatch, lambda status, _code, msg: _error(status, msg))

    # --- arranging a test ------------------------------------------------------------------

    def add_pull_request(self, repository: str, number: int) -> None:
        with self._lock:
            self._pulls.add((repository, number))

    def add_comment(self, repository: str, number: int, body: str, login: str) -> int:
        """A comment already there (someone else's, or an earlier run's); its id."""
        with self._lock:
            self._pulls.add((repository, number))
            return self._store(repository, number, body, login)

    def inject(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        kind: str | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next request (of `kind`, when given) with this error; `applied`:
        after serving it all the same."""
        answer = _error(status, message)
        answer.headers.update(headers or {})
        with self._lock:
            self._injected.append(_Injected(answer, kind, applied))

    def comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(c) for i, c in self._comments.items() if self._where[i] == (repository, number)
            ]

    # --- serving --------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        kind, write = self._kind(request)
        number = self._received(kind, api=True, write=write)
        try:
            answer = self._answer(request, kind)
        except Exception as exc:  # a bug in the fake: answer 500 and keep the traceback
            self._internal_error(exc)
            answer = _error(500, "Server Error")
        query = "&".join(f"{k}={v[0]}" for k, v in sorted(request.params.items()))
        with self._lock:
            self._log.append(
                GitHubLogEntry(number, request.method, request.path, query, answer.status)
            )
        return answer

    @staticmethod
    def _kind(request: Request) -> tuple[str, bool]:
        if _LIST.match(request.path):
            return (
                ("create_comment", True) if request.method == "POST" else ("list_comments", False)
            )
        if _ONE.match(request.path) and request.method == "PATCH":
            return "update_comment", True
        return "other", request.method not in ("GET", "HEAD")

    def _answer(self, request: Request, kind: str) -> Response:
        if not self._authorized(request.headers.get("authorization", "")):
            self._count("unauthorized")
            return _error(401, "Bad credentials")
        injected = self._take_injected(kind)
        if injected is not None:
            self._count("injected")
            if injected.applied:
                self._serve(request, kind)
            return injected.answer
        return self._serve(request, kind)

    def _take_injected(self, kind: str) -> _Injected | None:
        with self._lock:
            for i, injected in enumerate(self._injected):
                if injected.kind in (None, kind):
                    del self._injected[i]
                    return injected
        return None

    def _serve(self, request: Request, kind: str) -> Response:
        if kind == "list_comments":
            return self._list(request)
        if kind == "create_comment":
            return self._create(request)
        if kind == "update_comment":
            return self._update(request)
        return self._not_found()

    def _authorized(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        same = secrets.compare_digest(given.strip().encode(), self.config.token.encode())
        return scheme.lower() in ("bearer", "token") and same

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _not_found(self) -> Response:
        self._count("not_found")
        return _error(404, "Not Found")

    def _pull(self, request: Request) -> tuple[str, int] | None:
        match = _LIST.match(request.path)
        assert match is not None
        pull = (match.group(1), int(match.group(2)))
        with self._lock:
            return pull if pull in self._pulls else None

    def _list(self, request: Request) -> Response:
        pull = self._pull(request)
        if pull is None:
            return self._not_found()
        given = request.param("per_page")
        try:
            page = max(1, int(request.param("page") or 1))
            size = int(given) if given else self.config.default_per_page
        except ValueError:
            page, size = 1, self.config.default_per_page
        size = min(self.config.max_per_page, max(1, size))
        everything = self.comments(*pull)
        last = max(1, -(-len(everything) // size))
        links = []
        if page < last:
            links.append(self._link(request.path, page + 1, size, "next"))
            links.append(self._link(request.path, last, size, "last"))
        headers = {"Link": ", ".join(links)} if links else {}
        return json_response(200, everything[(page - 1) * size : page * size], headers)

    def _link(self, path: str, page: int, size: int, rel: str) -> str:
        return f'<{self.url}{path}?per_page={size}&page={page}>; rel="{rel}"'

    def _body(self, request: Request) -> str | Response:
        try:
            data = request.json()
        except ValueError:
            self._count("invalid")
            return _error(400, "Problems parsing JSON")
        body = data.get("body") if isinstance(data, dict) else None
        if not isinstance(body, str):
            self._count("invalid")
            return _error(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        if len(body) > self.config.max_body_chars:
            self._count("invalid")
            too_long = f"body is too long (maximum is {self.config.max_body_chars} characters)"
            return _error(
                422,
                "Validation Failed",
                errors=[{"resource": "IssueComment", "code": "custom", "field": "body",
                         "message": too_long}],
            )  # fmt: skip
        return body

    def _create(self, request: Request) -> Response:
        pull = self._pull(request)
        if pull is None:
            return self._not_found()
        body = self._body(request)
        if isinstance(body, Response):
            return body
        with self._lock:
            ident = self._store(*pull, body, self.config.login)
            return json_response(201, dict(self._comments[ident]))

    def _update(self, request: Request) -> Response:
        match = _ONE.match(request.path)
        assert match is not None
        repository, ident = match.group(1), int(match.group(2))
        with self._lock:
            known = ident in self._comments and self._where[ident][0] == repository
        if not known:
            return self._not_found()
        body = self._body(request)
        if isinstance(body, Response):
            return body
        with self._lock:
            comment = self._comments[ident]
            comment["body"], comment["updated_at"] = body, _now()
            return json_response(200, dict(comment))

    def _store(self, repository: str, number: int, body: str, login: str) -> int:
        """Keep a new comment; its id. Call with the lock held."""
        self._next_id += 1
        ident = self._next_id
        self._where[ident] = (repository, number)
        self._comments[ident] = {
            "id": ident,
            "node_id": f"IC_{ident}",
            "html_url": f"https://github.com/{repository}/pull/{number}#issuecomment-{ident}",
            "body": body,
            "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
            "created_at": _now(),
            "updated_at": _now(),
        }
        return ident


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
