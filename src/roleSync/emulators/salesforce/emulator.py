"""The Salesforce emulator: configuration, routing, authentication, faults, counters.

Request kinds counted in `counters`: query, query_more, query_all, sobject_get,
sobject_patch, sobject_upsert (PATCH by External Id), describe, collections_patch,
collections_create (sObject Collections POST), collections_retrieve (sObject
Collections retrieve, POST or GET: a read), bulk_create, bulk_upload, bulk_close (any job state
change), bulk_poll, bulk_results, bulk_delete, bulk_list, query_job_create, query_job_poll,
query_job_results, query_job_abort, query_job_delete (Bulk 2.0 query jobs), limits, versions,
oauth_token, not_found, method_not_allowed; totals requests (every request
received), api_requests (all but oauth_token), write_requests (sObject PATCH and
upsert, collections PATCH and POST, and every Bulk 2.0 job call); header tallies
auto_assign_false / auto_assign_missing on those same REST writes; faults fault_slow,
fault_drop, fault_unavailable, fault_invalid_session, fault_request_limit, fault_cut; and
internal_error (an emulator bug answered 500 UNKNOWN_EXCEPTION; see internal_errors).
Counters count requests as received, including those answered with an error.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date

from roleSync.emulators.base import LoopbackEmulator
from roleSync.emulators.http import Handler
from roleSync.emulators.salesforce import bulk, bulk_query, rest
from roleSync.emulators.salesforce.faults import FaultState, SalesforceFaults
from roleSync.emulators.salesforce.http import (
    Request,
    Response,
    handler_for,
    sf_error,
)
from roleSync.emulators.salesforce.routes import RouteHandler, resolve
from roleSync.emulators.salesforce.seed import seed_org
from roleSync.emulators.salesforce.store import SalesforceStore

LOGGED_HEADERS = (
    "sforce-auto-assign",
    "sforce-call-options",
    "sforce-query-options",
    "content-type",
    "accept",
)
WRITE_KINDS = frozenset(
    {"sobject_patch", "sobject_upsert", "collections_patch", "collections_create"}
)


def _token() -> str:
    # Shaped like a Salesforce session id: org id, "!", an opaque secret.
    return "00DEM0000000001!" + secrets.token_urlsafe(40)


@dataclass
class SalesforceEmulatorConfig:
    api_version: str = "62.0"
    page_size: int = 2000
    daily_limit: int = 15000
    access_token: str = field(default_factory=_token)
    client_id: str = "rolesync-emulator"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    refresh_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # JWT bearer: verify signatures with this PEM key or certificate when given.
    jwt_public_key_pem: str | None = None
    jwt_subject: str | None = None
    jwt_audiences: tuple[str, ...] = ()
    faults: SalesforceFaults = field(default_factory=SalesforceFaults)
    # When set, Account writes sent without `Sforce-Auto-Assign: FALSE` get this
    # owner, as if the org's assignment or territory rules ran again.
    auto_assign_owner_id: str | None = None
    bulk_polls_before_complete: int = 0
    # Bulk API 2.0 query jobs: InProgress for this many polls, then JobComplete; result
    # pages of this many records when the client names no maxRecords.
    bulk_query_polls: int = 0
    bulk_query_page_size: int = 100_000
    max_cursors: int = 10
    max_connections: int = 64
    # A request (line, headers, body) must arrive whole this long after it began, or it
    # is answered 408: slow clients cannot hold their threads for long.
    request_deadline_seconds: float = 10.0
    log_size: int = 1000
    org_id: str = "00DEM0000000001AAA"
    integration_user_id: str = "005EM0000000000AAA"

    def __post_init__(self) -> None:
        if not self.request_deadline_seconds > 0:
            raise ValueError("request_deadline_seconds must be more than 0")


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    """One request as seen by the emulator. Never holds tokens or bodies."""

    sequence: int
    method: str
    path: str
    kind: str
    status: int | None  # None: the connection was dropped
    soql: str | None
    headers: dict[str, str]
    fault: str | None
    seconds: float


class SalesforceEmulator(LoopbackEmulator[SalesforceEmulatorConfig, RequestLogEntry]):
    """A loopback HTTPS Salesforce org. Use as a context manager, or start()/stop()."""

    secure = True
    thread_name = "sf-emulator"

    def __init__(self, config: SalesforceEmulatorConfig | None = None) -> None:
        super().__init__(config or SalesforceEmulatorConfig())
        self.store = SalesforceStore()
        self.cursors = rest.Cursors(self.config.max_cursors)
        self.jobs = bulk.Jobs()
        self.query_jobs = bulk_query.QueryJobs()
        self.query_jobs_lock = threading.Lock()
        self.query_pages_served = 0
        self.fault_state = FaultState(self.config.faults)
        self.api_used = 0
        self.bulk_jobs_created = 0
        # Valid access tokens -> API requests each has served.
        self._tokens: dict[str, int] = {self.config.access_token: 0}

    def _handler(self) -> type[Handler]:
        return handler_for(self.dispatch, sf_error)

    # --- arranging the org -----------------------------------------------------------

    def seed(
        self,
        *,
        users: int,
        accounts: int,
        opportunities: int,
        seed: int = 1,
        as_of: date | None = None,
        contacts: int = 0,
        tasks: int = 0,
        inactive_share: float = 0.1,
    ) -> None:
        """Seed a deterministic org: see seed.py and seed_related.py for what it holds."""
        seed_org(
            self.store,
            users=users,
            accounts=accounts,
            opportunities=opportunities,
            seed=seed,
            as_of=as_of,
            contacts=contacts,
            tasks=tasks,
            inactive_share=inactive_share,
        )

    def set_faults(self, faults: SalesforceFaults) -> None:
        """Replace the faults; request numbering and lock attempts start again."""
        self.config.faults = faults
        self.fault_state = FaultState(faults)

    def reset_usage(self) -> None:
        """A new day: the daily API usage starts again from zero."""
        with self._lock:
            self.api_used = 0

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return len(self._tokens) - 1

    def issue_token(self) -> str:
        issued = _token()
        with self._lock:
            self._tokens[issued] = 0
            # Bounded: the oldest tokens (not the configured one) are forgotten.
            self._bound_tokens(self._tokens, self.config.access_token)
        return issued

    def note_fault(self, name: str) -> None:
        self._count(f"fault_{name}")

    def note_bulk_job(self) -> None:
        with self._lock:
            self.bulk_jobs_created += 1

    # --- the request pipeline -----------------------------------------------------------

    def dispatch(self, request: Request) -> Response | None:
        started = time.monotonic()
        kind, handler, match = resolve(request, self.config.api_version)
        api = kind != "oauth_token"
        tally: str | None = None
        if kind in WRITE_KINDS:
            off = request.headers.get("sforce-auto-assign", "").strip().lower() == "false"
            tally = "auto_assign_false" if off else "auto_assign_missing"
        write = kind in WRITE_KINDS or kind.startswith("bulk_")
        sequence = self._received(kind, api=api, write=write, tally=tally)
        fault: str | None = None
        answer: Response | None
        if not api or kind == "versions":
            answer = self._handle(handler, request, match)
        else:
            faults = self.fault_state
            number = faults.number(kind)
            if faults.slow(number):
                self._count("fault_slow")
                fault = "slow"
                time.sleep(faults.faults.slow_seconds)
            if faults.drop(number) and not faults.faults.drop_after_processing:
                fault, answer = "drop", None
            elif faults.unavailable(number):
                fault = "unavailable"
                answer = sf_error(
                    503,
                    "SERVER_UNAVAILABLE",
                    "Server is temporarily unavailable. Please try again later.",
                )
            else:
                refusal = self._refusal(request)
                if refusal is not None:
                    answer, fault = refusal
                else:
                    answer = self._handle(handler, request, match)
                if faults.drop(number):
                    fault, answer = "drop", None
                garbled = faults.garbled(number)
                if garbled is not None and answer is not None:
                    fault = "garbled"
                    html = garbled.startswith(b"<")
                    kind_of = "text/html" if html else "application/json"
                    answer = Response(200, garbled, content_type=f"{kind_of};charset=UTF-8")
            if answer is not None:
                answer.headers["Sforce-Limit-Info"] = (
                    f"api-usage={self.api_used}/{self.config.daily_limit}"
                )
        with self._lock:
            if fault is not None and fault != "slow":
                self.counters[f"fault_{fault}"] += 1
            self._log.append(
                RequestLogEntry(
                    sequence, request.method, request.path, kind,
                    None if answer is None else answer.status,
                    request.param("q") if kind in {"query", "query_all"} else None,
                    {k: request.headers[k] for k in LOGGED_HEADERS if k in request.headers},
                    fault, round(time.monotonic() - started, 4),
                )
            )  # fmt: skip
        return answer

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _refusal(self, request: Request) -> tuple[Response, str | None] | None:
        """Authentication and the daily limit: the answer refusing the request, if any.

        A request that passes uses one API call of the day and one of its token's life.
        """
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        faults = self.fault_state.faults
        with self._lock:
            uses = self._tokens.get(presented) if scheme.lower() in {"bearer", "oauth"} else None
            if uses is None:
                return _invalid_session(), None
            if faults.invalid_session_after is not None and uses >= faults.invalid_session_after:
                return _invalid_session(), "invalid_session"
            ceiling = self.config.daily_limit
            if faults.request_limit_after is not None:
                ceiling = min(ceiling, faults.request_limit_after)
            if self.api_used >= ceiling:
                refused = sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                return refused, "request_limit"
            self._tokens[presented] = uses + 1
            self.api_used += 1
        return None

    def _handle(self, handler: RouteHandler, request: Request, match: dict[str, str]) -> Response:
        try:
            return handler(self, request, match)
        except Exception as exc:
            # An emulator bug must not look like a dropped connection to the client:
            # answer as Salesforce does to its own failures, and keep the traceback.
            self._internal_error(exc)
            return sf_error(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                "support: emulator",
            )


def _invalid_session() -> Response:
    return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
