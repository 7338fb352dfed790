"""The connection to one org: the retrying session, the token, and the SDK calls the
adapter makes, with the SDK's exceptions turned into roleSync errors.

Built lazily on the first call, so that `rolesync plan` fails on a broken rule file
before it talks to Salesforce at all.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler
from simple_salesforce.exceptions import (
    SalesforceBulkV2LoadError,
    SalesforceError,
    SalesforceOperationError,
)

from roleSync.adapters.resilience import (
    ApiBudget,
    RequestError,
    RetryingSession,
    RetryPolicy,
    decide_salesforce,
    salesforce_errors,
)
from roleSync.adapters.salesforce.auth import OAuthFlow, SalesforceConfigError, token_source
from roleSync.profile import SalesforceSection

# Header that keeps Salesforce from re-running assignment rules on an owner change.
NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}
# sObject Collections retrieve: at most 2,000 ids a request (documented for the POST form).
MAX_RETRIEVE_IDS = 2000


class SalesforceRequestError(RequestError):
    """Salesforce refused a request (bad query, missing field, no permission...)."""


def _refusal(exc: SalesforceError, what: str) -> SalesforceRequestError:
    content = exc.content
    errors = salesforce_errors(content if isinstance(content, bytes | str) else None)
    if not errors and isinstance(content, list):
        errors = [(str(e.get("errorCode", "")), str(e.get("message", ""))) for e in content]
    detail = "; ".join(f"{code}: {message}" for code, message in errors) or f"HTTP {exc.status}"
    return SalesforceRequestError(
        f"Salesforce refused {what}: {detail}",
        status=exc.status,
        code=errors[0][0] if errors else "",
    )


@contextmanager
def _readable(what: str) -> Iterator[None]:
    """An answer the SDK could not read (a proxy's HTML page, JSON nested without end)
    is a RequestError: not a refusal, so for a write its outcome is unknown and the
    caller reads the records back before writing again."""
    try:
        yield
    except (ValueError, RecursionError) as exc:
        kind = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        raise RequestError(f"Salesforce answered {what} with a body that is {kind}") from None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """Per-record results of a Bulk API 2.0 ingest job, keyed by record Id."""

    job_id: str
    succeeded: frozenset[str] = frozenset()
    failed: Mapping[str, str] = field(default_factory=dict)  # id -> "CODE:message"
    unprocessed: frozenset[str] = frozenset()


def parse_bulk_results(text: str, key: str = "sf__Id") -> list[dict[str, str]]:
    """Rows of a Bulk 2.0 results CSV, each with `Id` filled from `sf__Id` when the
    echoed Id column is absent (and the other way round)."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        record_id = row.get(key) or row.get("Id") or ""
        rows.append({**row, "Id": record_id, key: record_id})
    return rows


class SalesforceClient:
    def __init__(
        self,
        section: SalesforceSection,
        *,
        ca_bundle: Path | None = None,
        env: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        bulk_poll_seconds: float = 2.0,
    ) -> None:
        self.section = section
        self.budget = ApiBudget(share=section.api_budget_share)
        self._ca_bundle = ca_bundle
        self._env = env if env is not None else os.environ
        self._policy = policy or RetryPolicy()
        self._bulk_poll_seconds = bulk_poll_seconds
        self._session: RetryingSession | None = None
        self._sf: Salesforce | None = None

    # -- connecting ------------------------------------------------------------

    @property
    def requests_sent(self) -> int:
        return self._session.requests_sent if self._session else 0

    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._connect()
        return self._sf

    def _setting(self, name: str | None) -> str | None:
        value = self._env.get(name, "").strip() if name else ""
        return value or None

    @property
    def org_hint(self) -> str:
        """Which org this client talks to, as far as known before connecting."""
        return (
            self._setting(self.section.instance_url_env)
            or self.section.instance_url
            or self.section.auth.token_url
        )

    def _connect(self) -> Salesforce:
        ca_bundle = self._ca_bundle
        from_env = self._setting(self.section.ca_bundle_env)
        if from_env:
            ca_bundle = Path(from_env).resolve()
        if ca_bundle is not None and not ca_bundle.is_file():
            raise SalesforceConfigError(f"salesforce CA bundle: no such file {ca_bundle}")
        session = RetryingSession(
            decide_salesforce,
            policy=self._policy,
            budget=self.budget,
            verify=str(ca_bundle) if ca_bundle else True,
        )
        tokens = token_source(self.section.auth, self._env, session)
        session.tokens = tokens
        self._session = session
        instance = self._setting(self.section.instance_url_env) or self.section.instance_url
        if instance is None and isinstance(tokens, OAuthFlow):
            instance = tokens.grant().instance_url
        if not instance:
            raise SalesforceConfigError(
                "salesforce.instance_url is not set and the token response named none"
            )
        return Salesforce(
            instance_url=instance,
            session_id=tokens.access_token,
            version=self.section.api_version,
            session=session,
        )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # -- calls -----------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of a query, page by page (the SDK follows nextRecordsUrl)."""
        try:
            with _readable("a query"):
                for record in self.sf().query_all_iter(soql, include_deleted=include_deleted):
                    yield dict(record)
        except SalesforceError as exc:
            raise _refusal(exc, "a query") from None

    def query_sized(self, soql: str) -> tuple[int, Iterator[dict[str, Any]]]:
        """The first page of a query (sent now: its totalSize says how many records
        the query selects) and every record, the rest read as the iterator goes."""
        sf = self.sf()
        try:
            with _readable("a query"):
                first = sf.query(soql)
        except SalesforceError as exc:
            raise _refusal(exc, "a query") from None

        # The first page is handed to the generator, not closed over: a closure would
        # keep it alive for the whole pull, beside the page being read.
        def records(page: dict[str, Any]) -> Iterator[dict[str, Any]]:
            while True:
                yield from (dict(record) for record in page.get("records", []))
                url = page.get("nextRecordsUrl")
                if page.get("done", True) or not url:
                    return
                try:
                    with _readable("a query"):
                        page = sf.query_more(url, identifier_is_url=True)
                except SalesforceError as exc:
                    raise _refusal(exc, "a query") from None

        return int(first.get("totalSize", 0)), records(first)

    def bulk_records(
        self,
        sobject: str,
        soql: str,
        fields: Sequence[str],
        *,
        include_deleted: bool,
        page_size: int,
    ) -> Iterator[dict[str, Any]]:
        """Every record of `soql` through a Bulk API 2.0 query job (see bulk_query.py)."""
        from roleSync.adapters.salesforce.bulk_query import BulkQuery

        sf = self.sf()
        assert self._session is not None
        job = BulkQuery(
            sf, self._session, poll_seconds=self._bulk_poll_seconds, page_size=page_size
        )
        return job.records(sobject, soql, fields, include_deleted=include_deleted)

    def ensure_budget_known(self) -> None:
        """Learn the daily allowance from /limits/ if no response has carried it yet."""
        if self.budget.known:
            return
        try:
            with _readable("the limits request"):
                limits = self.sf().limits()
        except SalesforceError as exc:
            raise _refusal(exc, "the limits request") from None
        if isinstance(limits, Mapping):
            self.budget.observe_limits(limits)

    def update_collection(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """PATCH composite/sobjects (at most 200 records, allOrNone false): one result
        per record, in request order."""
        try:
            with _readable("a collections update"):
                result = self.sf().restful(
                    "composite/sobjects",
                    method="PATCH",
                    json={"allOrNone": False, "records": list(records)},
                    headers=NO_AUTO_ASSIGN,
                )
        except SalesforceError as exc:
            raise _refusal(exc, "a collections update") from None
        if not isinstance(result, list) or len(result) != len(records):
            raise RequestError(
                f"collections update of {len(records)} records answered "
                f"{len(result) if isinstance(result, list) else 'no'} results"
            )
        return [dict(r) for r in result]

    def create_collection(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """POST composite/sobjects (at most 200 new records, allOrNone false): one result
        per record, in request order (`{"id", "success", "errors"}`). Sent with
        Sforce-Auto-Assign FALSE too: a new task keeps the owner it is given."""
        try:
            with _readable("a collections create"):
                result = self.sf().restful(
                    "composite/sobjects",
                    method="POST",
                    json={"allOrNone": False, "records": list(records)},
                    headers=NO_AUTO_ASSIGN,
                )
        except SalesforceError as exc:
            raise _refusal(exc, "a collections create") from None
        if (
            not isinstance(result, list)
            or len(result) != len(records)
            or not all(isinstance(r, Mapping) for r in result)
        ):
            # Unreadable: some records may exist now. The caller reads them back by key.
            raise RequestError(
                f"collections create of {len(records)} records answered "
                f"{len(result) if isinstance(result, list) else 'no'} readable results"
            )
        return [dict(r) for r in result]

    def retrieve(
        self, sobject: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The records of `ids` (repeats read once) with `fields`, by the Id asked for:
        sObject Collections retrieve, `POST composite/sobjects/{sobject}` with
        `{"ids", "fields"}`, 2,000 ids a request. An id Salesforce answers `null` for
        (deleted, never existed, not visible to the user, invalid) is absent.

        Documented (REST API Developer Guide, "Get Records With a Request Body Using
        sObject Collections"): up to 2,000 ids of one type; a 200 array with one element
        per id, in request order, `null` for an invalid or inaccessible id; 400 for a
        field that does not exist or cannot be read (a SalesforceRequestError here,
        refusing the request as a whole, as a bad SOQL field did). Answers are matched
        to ids by position and checked against the Id each record carries.
        """
        wanted = list(dict.fromkeys(ids))
        names = list(fields)
        if not any(name.lower() == "id" for name in names):
            names.insert(0, "Id")  # what each answer is checked against
        found: dict[str, dict[str, Any]] = {}
        if not wanted:
            return found
        sf = self.sf()
        assert self._session is not None
        for start in range(0, len(wanted), MAX_RETRIEVE_IDS):
            chunk = wanted[start : start + MAX_RETRIEVE_IDS]
            try:
                with self._session.reading(), _readable(f"a collections retrieve of {sobject}"):
                    result = sf.restful(
                        f"composite/sobjects/{sobject}",
                        method="POST",
                        json={"ids": chunk, "fields": names},
                    )
            except SalesforceError as exc:
                raise _refusal(exc, f"a collections retrieve of {sobject}") from None
            if not isinstance(result, list) or len(result) != len(chunk):
                raise RequestError(
                    f"collections retrieve of {len(chunk)} {sobject} ids answered "
                    f"{len(result) if isinstance(result, list) else 'no'} records"
                )
            for record_id, record in zip(chunk, result, strict=True):
                if record is None:
                    continue
                answered = str(record.get("Id", "")) if isinstance(record, Mapping) else ""
                # 15 characters are the Id; the 18-character form only adds a suffix.
                if answered[:15] != record_id[:15]:
                    raise RequestError(
                        f"collections retrieve of {sobject} answered out of order: "
                        f"asked for {record_id}"
                    )
                found[record_id] = dict(record)
        return found

    def bulk_update(self, sobject: str, rows: Sequence[Mapping[str, str]]) -> BulkOutcome:
        """One Bulk API 2.0 update job: create, upload CSV, close, poll, then the failed
        records (only if the job counted failures) and the unprocessed ones (only if it
        processed fewer than it got). Every other record of the job succeeded: each
        record is in exactly one of the three result sets, so the successful-results
        file is not fetched (a request saved on every job).

        simple-salesforce's bulk2 handler builds its own headers dict and shares it with
        the object it hands out, so the header set here goes on every request of the
        job. Bulk 2.0 documents no Sforce-Auto-Assign (it runs assignment rules only for
        an assignmentRuleId, which roleSync never sends); it is sent for symmetry.
        """
        handler = self.sf().bulk2
        assert isinstance(handler, SFBulk2Handler)
        handler.headers.update(NO_AUTO_ASSIGN)
        bulk_object = getattr(handler, sobject)
        sent = {str(r["Id"]) for r in rows}
        try:
            failed: dict[str, str] = {}
            unprocessed: set[str] = set()
            with _readable("a Bulk API 2.0 job step"):
                jobs = bulk_object.update(
                    records=[dict(r) for r in rows], wait=self._bulk_poll_seconds
                )
                for job in jobs:
                    job_id = job["job_id"]
                    if int(job["numberRecordsFailed"]):
                        for row in parse_bulk_results(bulk_object.get_failed_records(job_id)):
                            failed[row["Id"]] = row.get("sf__Error") or "failed without a reason"
                    if int(job["numberRecordsProcessed"]) < int(job["numberRecordsTotal"]):
                        for row in parse_bulk_results(bulk_object.get_unprocessed_records(job_id)):
                            unprocessed.add(row["Id"])
        except SalesforceError as exc:
            # Not a SalesforceRequestError: a refusal of a later step (a results file)
            # says nothing about the records the job already wrote.
            raise RequestError(str(_refusal(exc, "a Bulk API 2.0 job step"))) from None
        except (SalesforceBulkV2LoadError, SalesforceOperationError) as exc:
            # The job failed, timed out or its upload was refused: the outcome of its
            # records is unknown here; the caller reads them back.
            raise RequestError(f"Bulk API 2.0 job failed: {exc}") from None
        expected_failures = sum(int(job["numberRecordsFailed"]) for job in jobs)
        if len(failed.keys() & sent) != expected_failures:
            # The failed-results file does not add up: trust no inference from it.
            raise RequestError(
                f"Bulk API 2.0 job counted {expected_failures} failures but listed "
                f"{len(failed)}; outcome of its records unknown"
            )
        succeeded = sent - failed.keys() - unprocessed
        job_ids = ",".join(str(job["job_id"]) for job in jobs)
        return BulkOutcome(job_ids, frozenset(succeeded), failed, frozenset(unprocessed))
