"""Full pulls of big objects through Bulk API 2.0 query jobs, page by page.

The wire, as the Bulk API 2.0 and Bulk API Developer Guide documents it ("Query
Jobs", "Understanding Bulk API 2.0 Query"): `POST jobs/query` with `{operation:
query | queryAll, query, contentType: CSV, columnDelimiter, lineEnding}`; `GET
jobs/query/{id}` until the state is `JobComplete` (or `Failed` with `errorMessage`,
or `Aborted`); then `GET jobs/query/{id}/results?maxRecords=N[&locator=L]`, each
answer one CSV page with `Sforce-NumberOfRecords` and `Sforce-Locator` (the string
"null" after the last page). Bulk 2.0 SOQL takes no ORDER BY, LIMIT or COUNT() (the
guide: they defeat PK chunking), so the query has no ORDER BY; a full pull's cursor
is the latest stamp whatever the order.

Requests for N records: 1 describe (the field types that turn CSV text into the
values a REST answer carries) + 1 create + the polls + ceil(N / page_size) pages.

CSV cells are text: an empty cell is null, a boolean `true`/`false`, numbers as JSON
writes them. Each cell is typed by the object's describe, so a record reads exactly
as the REST query's JSON would, and the mirror (and the plan) is the same either way.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from roleSync.adapters.resilience import RequestError
from roleSync.adapters.resilience.session import RetryingSession

NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
# Polls of one job before the pull gives up on it (with poll_seconds 2: over 5 hours).
MAX_POLLS = 10_000
DEFAULT_PAGE_SIZE = 50_000


class BulkQueryError(RequestError):
    """A query job failed, was aborted, or its results could not be read whole."""


Typed = Callable[[str], Any]


def _typer(kind: str) -> Typed:
    if kind == "boolean":
        return lambda cell: cell == "true"
    if kind in NUMBER_TYPES:
        # As JSON would read the same digits: "5" an int, "5.0" a float.
        return lambda cell: json.loads(cell) if cell else None
    return lambda cell: cell if cell else None


def field_types(sf: Salesforce, sobject: str) -> dict[str, Typed]:
    """Field name (lower-cased) -> how to read its CSV cell, from the describe."""
    try:
        described = getattr(sf, sobject).describe()
    except SalesforceError as exc:
        raise RequestError(f"Salesforce refused the describe of {sobject}: {exc}") from None
    return {
        str(f["name"]).lower(): _typer(str(f.get("type", "string")))
        for f in described.get("fields", [])
    }


class BulkQuery:
    """One query job, from creation to its last results page."""

    def __init__(
        self,
        sf: Salesforce,
        session: RetryingSession,
        *,
        poll_seconds: float,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self._sf = sf
        self._session = session
        self._poll_seconds = poll_seconds
        self._page_size = page_size

    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        # Every call of a query job only reads: re-sent like a GET on a 503 or a drop.
        try:
            with self._session.reading():
                return self._session.request(
                    method, self._sf.base_url + path, headers=self._sf.headers, **kwargs
                )
        except RequestError as exc:
            if type(exc) is not RequestError:
                raise  # the daily limit, a rejected token: their own words are clearer
            raise BulkQueryError(f"{what}: {exc}", status=exc.status) from None

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            raise BulkQueryError(
                f"Salesforce refused {what}: HTTP {response.status_code} {response.text[:200]}",
                status=response.status_code,
            )
        return body

    def records(
        self, sobject: str, soql: str, *, include_deleted: bool
    ) -> Iterator[dict[str, Any]]:
        """Every record of `soql`, typed as REST would answer it, one page at a time."""
        types = field_types(self._sf, sobject)
        operation = "queryAll" if include_deleted else "query"
        body = {
            "operation": operation,
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        what = f"creating a Bulk API 2.0 query job on {sobject}"
        job = self._json(self._send("POST", "jobs/query", what, json=body), what)
        job_id = str(job.get("id", "?"))
        self._wait(job_id, sobject)
        locator: str | None = None
        while True:
            params: dict[str, str | int] = {"maxRecords": self._page_size}
            if locator:
                params["locator"] = locator
            what = f"Bulk API 2.0 query job {job_id} ({sobject})"
            try:
                response = self._send("GET", f"jobs/query/{job_id}/results", what, params=params)
                text = response.content.decode("utf-8-sig")
            except requests.RequestException as exc:
                # Connection errors and timeouts the session retried already; what gets
                # here is a body that ended early (requests words it with urllib3 tuples).
                cut = isinstance(exc, requests.exceptions.ChunkedEncodingError)
                reason = "connection closed mid-body" if cut else type(exc).__name__
                raise BulkQueryError(f"{what}: results download cut: {reason}") from None
            if response.status_code >= 400:
                raise BulkQueryError(
                    f"{what}: results refused: HTTP {response.status_code} {text[:200]}",
                    status=response.status_code,
                )
            rows = list(csv.reader(io.StringIO(text, newline="")))
            expected = response.headers.get("Sforce-NumberOfRecords")
            if not rows or (expected is not None and expected != str(len(rows) - 1)):
                raise BulkQueryError(
                    f"{what}: results page incomplete: {max(len(rows) - 1, 0)} records "
                    f"of {expected}"
                )
            header = [name.lower() for name in rows[0]]
            readers = [types.get(name, _typer("string")) for name in header]
            for row in rows[1:]:
                yield {
                    name: read(cell) for name, read, cell in zip(rows[0], readers, row, strict=True)
                }
            locator = response.headers.get("Sforce-Locator")
            # Let this page go before the next is read: held while the next downloads,
            # two pages would be in memory at once (the peak of a pull).
            del response, text, rows
            if not locator or locator == "null":
                return

    def _wait(self, job_id: str, sobject: str) -> None:
        for _ in range(MAX_POLLS):
            what = f"Bulk API 2.0 query job {job_id} ({sobject}): poll"
            info = self._json(self._send("GET", f"jobs/query/{job_id}", what), what)
            state = info.get("state")
            if state == "JobComplete":
                return
            if state in {"Failed", "Aborted"}:
                reason = info.get("errorMessage") or "no reason given"
                raise BulkQueryError(
                    f"Bulk API 2.0 query job {job_id} ({sobject}) {str(state).lower()}: {reason}"
                )
            time.sleep(self._poll_seconds)
        raise BulkQueryError(
            f"Bulk API 2.0 query job {job_id} ({sobject}) not complete after {MAX_POLLS} polls"
        )
