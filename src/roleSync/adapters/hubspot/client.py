"""The connection to one portal: hubspot-api-client with its own retries off, every call
run through roleSync's CallRunner (decisions, backoff, rate limits, token refresh), and
the answers read as HubSpot's JSON.

The SDK builds each request (URL, repeated query parameters, body, bearer token) and
raises its ApiException for every answer outside 2xx; its response models are not
used (`_preload_content=False`): they pick a model by the exact status and return
None for any other (a silent trap), and parse every datetime with dateutil, which
costs seconds per 25,000 records. Instead each call names the statuses it expects
(200; 200 or 207 for batches; 201 for creates): any other 2xx is what the SDK would have
turned into None, and is an error (for a write: outcome unknown, read back first).

The SDK is built with `retry=False`: urllib3 then raises its own exceptions
(ProtocolError, ReadTimeoutError, NewConnectionError) for every method alike, where
`Retry(total=0)` wraps some in MaxRetryError (GET) but not others (POST); one shape is
one classification. There is no default timeout in the SDK: every call passes
`_request_timeout`. Each `client.crm...._api` attribute access builds a new ApiClient
and connection pool, so the API objects are built once and kept.

Built lazily on the first call, so `rolesync plan` fails on a broken rule file before it
talks to HubSpot at all.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hubspot import HubSpot

from roleSync.adapters.hubspot.auth import (
    HubSpotConfigError,
    OAuthTokens,
    StaticToken,
    secrets_of,
)
from roleSync.adapters.resilience import (
    AuthenticationError,
    CallRunner,
    HubSpotLimiter,
    RefusedError,
    RetryPolicy,
    RollingWindow,
    decide_hubspot,
)
from roleSync.profile import HubSpotSection

_LOOPBACK_HTTP = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/?$")
_HTTPS = re.compile(r"^https://[^\s/?#]+/?$")
# The v3 list and owners endpoints answer at most 100 records a page.
PAGE = 100


OK = frozenset({200})
BATCH = frozenset({200, 207})
CREATED = frozenset({201})
BATCH_CREATED = frozenset({201, 207})


def _answer(raw: Any, expected: frozenset[int]) -> tuple[dict[str, Any] | None, int, Any]:
    """(JSON body or None, status, headers) of a raw urllib3 answer; None when the status
    is not one the call expects, or the body is not a JSON object."""
    try:
        body = raw.data
    finally:
        raw.release_conn()
    status = int(raw.status)
    data: Any = None
    if status in expected:
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):  # RecursionError: nested without end
            data = None
    return (data if isinstance(data, dict) else None), status, raw.headers


def check_host(host: str, where: str) -> str:
    """https anywhere, http only on a loopback address: a token never crosses a network
    in clear text."""
    if not (_HTTPS.match(host) or _LOOPBACK_HTTP.match(host)):
        raise HubSpotConfigError(
            f"{where}: {host!r} is not an https:// origin (plain http only on 127.0.0.1, "
            "localhost or [::1])"
        )
    return host.rstrip("/")


def limiter_for(
    section: HubSpotSection, policy: RetryPolicy, clock: Callable[[], float]
) -> HubSpotLimiter:
    limits = section.rate_limit
    per_second = limits.search_per_second
    search_limit = max(1, math.floor(per_second))
    return HubSpotLimiter(
        burst=RollingWindow(
            limits.assumed_burst, limits.interval_ms / 1000, clock=clock, sleep=policy.sleep
        ),
        search=RollingWindow(
            search_limit, search_limit / per_second, clock=clock, sleep=policy.sleep
        ),
        cap=limits.burst,
    )


class HubSpotClient:
    def __init__(
        self,
        section: HubSpotSection,
        *,
        env: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        ca_bundle: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.section = section
        self._env = env if env is not None else os.environ
        self.policy = policy or RetryPolicy()
        self.limiter = limiter_for(section, self.policy, clock)
        self.runner = CallRunner(decide_hubspot, policy=self.policy, limiter=self.limiter)
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._apis: dict[str, Any] | None = None
        self._tokens: StaticToken | OAuthTokens | None = None
        self._applied_token: str | None = None

    # -- connecting ------------------------------------------------------------

    @property
    def host(self) -> str:
        name = self.section.host_env
        override = self._env.get(name, "").strip() if name else ""
        if override:
            return check_host(override, f"environment variable {name}")
        return check_host(self.section.host, "hubspot.host")

    @property
    def requests_sent(self) -> int:
        return self.runner.requests_sent

    def _sdk(self, host: str, token: str | None) -> Any:
        options: dict[str, Any] = {"host": host, "retry": False}
        if token is not None:
            options["access_token"] = token
        if self._ca_bundle is not None:
            if not self._ca_bundle.is_file():
                raise HubSpotConfigError(f"hubspot.ca_bundle: no such file {self._ca_bundle}")
            options["ssl_ca_cert"] = str(self._ca_bundle)
        return HubSpot(**options)

    def _connect(self) -> dict[str, Any]:
        auth = self.section.auth
        secrets = secrets_of(auth, self._env)
        host = self.host
        sdk = self._sdk(host, None)
        crm = sdk.crm
        # One attribute access each: every access builds a new ApiClient and pool.
        apis = {
            "basic": crm.objects.basic_api,
            "batch": crm.objects.batch_api,
            "search": crm.objects.search_api,
            "owners": crm.owners.owners_api,
            "associations": crm.associations.v4.batch_api,
            "properties": crm.properties.core_api,
            "exports": crm.exports.public_exports_api,
        }
        if auth.method == "private_app":
            self._tokens = StaticToken(secrets["access_token"])
        else:
            token_url = auth.token_url or f"{host}/oauth/v1/token"
            parts = urlsplit(token_url)
            origin = check_host(f"{parts.scheme}://{parts.netloc}", "hubspot.auth.token_url")
            tokens_api = self._sdk(origin, None).oauth.tokens_api

            def exchange() -> tuple[str, float | None]:
                return self._exchange(tokens_api, secrets)

            self._tokens = OAuthTokens(exchange, self._clock)
        self.runner.tokens = self._tokens
        return apis

    def _exchange(self, tokens_api: Any, secrets: Mapping[str, str]) -> tuple[str, float | None]:
        def send() -> Any:
            raw = tokens_api.create_with_http_info(
                grant_type="refresh_token",
                client_id=secrets["client_id"],
                client_secret=secrets["client_secret"],
                refresh_token=secrets["refresh_token"],
                _request_timeout=self.policy.timeout,
                _preload_content=False,
            )
            return _answer(raw, OK)

        try:
            # Replayable: asking twice only yields a second valid token.
            answer: dict[str, Any] = self.runner.run(
                "OAuth token refresh", send, replayable=True, refreshable=False
            )
        except RefusedError as exc:
            # HubSpot's refusal says which part is wrong (BAD_REFRESH_TOKEN, ...), never
            # a secret.
            raise AuthenticationError(
                f"{exc}; check the variables named by hubspot.auth (refresh_token_env, "
                "client_id_env, client_secret_env)"
            ) from None
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError("the OAuth token answer carried no access token")
        expires = answer.get("expires_in")
        return token, float(expires) if isinstance(expires, int | float) else None

    def _api(self, name: str) -> Any:
        if self._apis is None:
            self._apis = self._connect()
        return self._apis[name]

    def _apply_token(self) -> None:
        """Put the current token on every kept API object (after a refresh too)."""
        assert self._tokens is not None and self._apis is not None
        token = self._tokens.access_token
        if token != self._applied_token:
            for api in self._apis.values():
                api.api_client.configuration.access_token = token
            self._applied_token = token

    def _call(
        self,
        what: str,
        api: str,
        method: str,
        *args: Any,
        replayable: bool = True,
        search: bool = False,
        expected: frozenset[int] = OK,
        **kwargs: Any,
    ) -> dict[str, Any]:
        bound = getattr(self._api(api), f"{method}_with_http_info")

        def send() -> Any:
            self._apply_token()
            raw = bound(
                *args, _request_timeout=self.policy.timeout, _preload_content=False, **kwargs
            )
            return _answer(raw, expected)

        answer: dict[str, Any] = self.runner.run(what, send, replayable=replayable, search=search)
        return answer

    # For modules that add calls of their own (exports.py): the same runner, token, limits.
    call = _call

    def defer(self, job: Callable[[], None]) -> None:
        """Run `job` while the rate limiter would otherwise sleep (or at `drain`)."""
        self.limiter.defer(job)

    def drain(self) -> None:
        self.limiter.drain()

    def connect(self) -> None:
        """Read the settings and secrets now (and fail now if they are missing)."""
        self._api("basic")

    # -- reads -----------------------------------------------------------------

    def list_all(
        self, object_type: str, properties: Sequence[str], *, archived: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """Every record of an object type, a page (at most 100) at a time."""
        after: str | None = None
        while True:
            page = self._call(
                f"list {object_type}",
                "basic",
                "get_page",
                object_type,
                limit=PAGE,
                after=after,
                properties=list(properties),
                archived=archived,
            )
            yield list(page.get("results") or [])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def owners(self, *, archived: bool) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            page = self._call(
                "list owners", "owners", "get_page", limit=PAGE, after=after, archived=archived
            )
            yield from page.get("results") or []
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def search(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._call(
            f"search {object_type}", "search", "do_search", object_type, dict(body), search=True
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        properties: Sequence[str],
        *,
        id_property: str | None = None,
    ) -> dict[str, Any]:
        """Current values of up to 100 records; ids not found come back as errors. With
        `id_property` (a unique property), `ids` are values of that property. HubSpot's
        spec (BatchReadInputSimplePublicObjectId) requires `propertiesWithHistory`: sent
        empty, as no history is wanted."""
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": list(properties),
            "propertiesWithHistory": [],
        }
        if id_property is not None:
            body["idProperty"] = id_property
        return self._call(
            f"batch read {object_type}", "batch", "read", object_type, body, expected=BATCH
        )

    def batch_update(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Write up to 100 records; 200 or 207 with per-record errors. Never re-sent
        unless HubSpot cannot have acted on it: the caller reads before writing again."""
        body = {"inputs": [dict(i) for i in inputs]}
        return self._call(
            f"batch update {object_type}",
            "batch",
            "update",
            object_type,
            body,
            replayable=False,
            expected=BATCH,
        )

    def batch_create(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Create up to 100 records (201; 207 with per-record errors). Never re-sent unless
        HubSpot cannot have acted on it: creates have no idempotency key, so the caller
        looks for what an unanswered create made before sending it again."""
        body = {"inputs": [dict(i) for i in inputs]}
        return self._call(
            f"batch create {object_type}",
            "batch",
            "create",
            object_type,
            body,
            replayable=False,
            expected=BATCH_CREATED,
        )

    def associations(
        self, from_type: str, to_type: str, inputs: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]:
        """v4 batch read of associations (answers 207 with NO_ASSOCIATIONS_FOUND errors
        for ids that have none)."""
        body = {"inputs": [dict(i) for i in inputs]}
        return self._call(
            f"read {from_type}-{to_type} associations",
            "associations",
            "get_page",
            from_type,
            to_type,
            body,
            expected=BATCH,
        )

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        answer = self._call(f"list {object_type} properties", "properties", "get_all", object_type)
        return list(answer.get("results") or [])

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """201 with the property; a 409 (already there) raises RefusedError with status 409.
        Replayable: sent twice, the second answers 409, which callers take as done."""
        return self._call(
            f"create {object_type} property",
            "properties",
            "create",
            object_type,
            dict(definition),
            expected=CREATED,
        )

    def close(self) -> None:
        if self._apis is not None:
            for api in self._apis.values():
                api.api_client.rest_client.pool_manager.clear()
            self._apis = None
