"""Where the workflow tells us the API, the repository, the pull request and the token.

GitHub Actions sets GITHUB_API_URL (https://api.github.com, or a GitHub Enterprise
Server's /api/v3), GITHUB_REPOSITORY (owner/name) and GITHUB_EVENT_PATH (the event's
JSON: a pull_request event carries `pull_request.number`). The token comes from the
environment only (ROLESYNC_GITHUB_TOKEN, else GITHUB_TOKEN): an argument would show in
the process list and in the job log.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from roleSync.errors import RoleSyncError

DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLES = ("ROLESYNC_GITHUB_TOKEN", "GITHUB_TOKEN")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class GitHubSetupError(RoleSyncError):
    """Something the command needs from the workflow is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Target:
    api_url: str  # without a trailing slash
    repository: str  # owner/name
    pull_request: int
    # repr=False: a Target printed or logged by mistake does not show the token.
    token: str = field(repr=False)


def api_url(env: Mapping[str, str]) -> str:
    """GITHUB_API_URL, checked: https, or http on this machine only (the token would
    otherwise cross the network in clear)."""
    url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise GitHubSetupError(
        f"GITHUB_API_URL must be an https:// address (http:// only on 127.0.0.1): {url!r}"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def repository(env: Mapping[str, str], given: str | None) -> str:
    name = given if given is not None else env.get("GITHUB_REPOSITORY", "")
    if not name:
        raise GitHubSetupError("no repository: set GITHUB_REPOSITORY or pass --repo OWNER/NAME")
    if not _REPOSITORY.match(name):
        raise GitHubSetupError(f"not a repository name (OWNER/NAME): {name!r}")
    return name


def pull_request_number(env: Mapping[str, str], given: int | None) -> int:
    """--pr, else the number of the pull request the event is about."""
    if given is not None:
        return given
    event_path = env.get("GITHUB_EVENT_PATH", "")
    if not event_path:
        raise GitHubSetupError("no pull request: pass --pr N, or run in a pull_request workflow")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise GitHubSetupError(f"cannot read the event file {event_path}: {exc}") from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise GitHubSetupError(
            "the workflow's event is not a pull request (no pull_request.number in "
            f"{event_path}): run on `pull_request`, or pass --pr N"
        )
    return number


def token(env: Mapping[str, str]) -> str:
    for name in TOKEN_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return value
    raise GitHubSetupError(
        "no GitHub token: set ROLESYNC_GITHUB_TOKEN (or GITHUB_TOKEN) in the environment"
    )


def target(env: Mapping[str, str], *, repo: str | None, pr: int | None) -> Target:
    return Target(api_url(env), repository(env, repo), pull_request_number(env, pr), token(env))
