"""The PostgreSQL state store's connection URL: read from the environment, checked,
and never shown with its password.

The profile names the variable (`state.url_env`, default ROLESYNC_STATE_URL), never the
URL: it may carry a password, and profiles live in git. Every message that could
quote the URL or a server's answer goes through `StateUrl.redact`, because libpq's own
parse errors repeat the URL they were given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

from roleSync.sync.store_file import StateError

SCHEMES = ("postgresql", "postgres")
FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
HIDDEN = "***"


@dataclass(frozen=True, slots=True)
class StateUrl:
    variable: str
    url: str = field(repr=False)
    user: str
    host: str
    port: int
    database: str
    password: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """The URL as messages may show it: no password, no options."""
        who = f"{self.user}@" if self.user else ""
        return f"postgresql://{who}{self.host}:{self.port}/{self.database}"

    def redact(self, text: str) -> str:
        """`text` with the URL and the password hidden, however they were spelled."""
        text = text.replace(self.url, self.shown)
        if self.password:
            for spelled in {self.password, _raw_password(self.url) or ""} - {""}:
                text = text.replace(spelled, HIDDEN)
        return text


def _raw_password(url: str) -> str | None:
    """The password as written in `url` (percent-encoded or not), parsed by hand so
    that a URL urlsplit refuses still has its password hidden."""
    rest = url.partition("://")[2]
    userinfo, at, _ = rest.partition("/")[0].rpartition("@")
    if not at:
        return None
    _, colon, password = userinfo.partition(":")
    return password if colon else None


def _bad(variable: str, why: str) -> StateError:
    return StateError(f"{variable}: not a PostgreSQL connection URL ({FORM}): {why}")


def _port(variable: str, parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise _bad(variable, "the port is not a number from 1 to 65535") from None
    return 5432 if port is None else port


def state_url(variable: str, environ: Mapping[str, str], profile: str) -> StateUrl:
    """The URL in `environ[variable]`; a StateError naming the variable (never the URL's
    password) if it is missing or malformed."""
    url = environ.get(variable, "").strip()
    if not url:
        raise StateError(
            f"{variable} is not set: profile {profile} keeps its state in PostgreSQL "
            f"(state.backend: postgresql) and reads the connection URL ({FORM}) from it"
        )
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise _bad(variable, "it must start with postgresql://")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        hidden = StateUrl(variable, url, "", "", 0, "", _raw_password(url))
        raise _bad(variable, hidden.redact(str(exc))) from None
    port = _port(variable, parts)
    host = parts.hostname or ""
    database = unquote(parts.path.lstrip("/"))
    if not host:
        raise _bad(variable, "it names no host")
    if not database or "/" in database:
        raise _bad(variable, "it names no database (the path after the host)")
    if re.search(r"\s", url):
        raise _bad(variable, "it contains white space")
    password = unquote(parts.password) if parts.password is not None else None
    found = StateUrl(variable, url, unquote(parts.username or ""), host, port, database, password)
    _check_options(found)
    return found


def _check_options(url: StateUrl) -> None:
    """libpq's own parse of the whole URL (its query options), with its message redacted."""
    from psycopg import conninfo

    try:
        conninfo.conninfo_to_dict(url.url)
    except Exception as exc:  # psycopg.ProgrammingError, by its documentation
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _bad(url.variable, url.redact(first)) from None
