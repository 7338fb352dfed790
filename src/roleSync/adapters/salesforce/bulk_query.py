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

Each results page is read as it downloads, gzip-compressed on request, and checked
row by row (bulk_results.py): a page that is cut, does not parse or does not match the
requested fields stops the pull with one line naming the job, inside the mirror's
transaction, so nothing of it lands.

Requests for N records: 1 describe (the field types that turn CSV text into the
values a REST answer carries) + 1 create + the polls + ceil(N / page_size) pages.

CSV cells are text: an empty cell is null, a boolean `true`/`false`, numbers as JSON
writes them. Each cell is typed by the object's describe, so a record reads exactly
as the REST query's JSON would, and the mirror (and the plan) is the same either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from roleSync.adapters.resilience import RequestError
from roleSync.adapters.resilience.session import RetryingSession
from roleSync.adapters.salesforce.bulk_results import CHUNK_BYTES, PageError, page_rows

NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
# Polls of one job before the pull gives up on it (with poll_seconds 2: over 5 hours).
MAX_POLLS = 10_000
# Records a results page (maxRecords); 0: send none, the server chooses.
DEFAULT_PAGE_SIZE = 100_000


class BulkQueryError(RequestError):
    """A query job failed, was aborted, or its results could not be read whole."""


Typed = Callable[[str], Any]


def _text(cell: str) -> str | None:
    return cell if cell else None


def _typer(kind: str) -> Typed:
    if kind == "boolean":
        return lambda cell: cell == "true"
    if kind in NUMBER_TYPES:
        # As JSON would read the same digits: "5" an int, "5.0" a float.
        return lambda cell: json.loads(cell) if cell else None
    return _text


def _download_failure(exc: requests.RequestException) -> str:
    """What went wrong reading a results body; connection errors and timeouts before
    the answer the session retried already."""
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "results download does not decode (corrupt gzip?)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "results download cut: connection closed mid-body"
    return f"results download cut: {type(exc).__name__}"


def _typed(
    header: list[str], row: list[str], types: dict[str, Typed], number: int
) -> dict[str, Any]:
    """A CSV row as the REST query's JSON would hold the record."""
    try:
        return {
            name: types.get(name.lower(), _text)(cell)
            for name, cell in zip(header, row, strict=True)
        }
    except ValueError:
        raise PageError(
            f"results record {number} has a cell its field's type cannot read"
        ) from None


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
        self, sobject: str, soql: str, fields: Sequence[str], *, include_deleted: bool
    ) -> Iterator[dict[str, Any]]:
        """Every record of `soql` (which selects `fields`, in order), typed as REST would
        answer it, streamed one results page at a time (bulk_results.py)."""
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
        page = 0
        while True:
            page += 1
            what = f"Bulk API 2.0 query job {job_id} ({sobject}): results page {page}"
            with self._results(job_id, locator, what) as response:
                counted = 0
                try:
                    rows = page_rows(
                        response.iter_content(CHUNK_BYTES), fields, first_page=locator is None
                    )
                    for header, row in rows:
                        counted += 1
                        yield _typed(header, row, types, counted)
                except PageError as exc:
                    raise BulkQueryError(f"{what}: {exc}") from None
                except requests.RequestException as exc:
                    raise BulkQueryError(f"{what}: {_download_failure(exc)}") from None
                expected = response.headers.get("Sforce-NumberOfRecords")
                if expected is not None and expected != str(counted):
                    raise BulkQueryError(
                        f"{what}: results page incomplete: {counted} records of {expected}"
                    )
                locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return

    @contextmanager
    def _results(self, job_id: str, locator: str | None, what: str) -> Iterator[requests.Response]:
        """One results page's answer, its body unread: gzip asked for (the guide: results
        may be compressed on request), undone by requests as the chunks are read."""
        params: dict[str, str | int] = {}
        if self._page_size > 0:
            params["maxRecords"] = self._page_size
        if locator:
            params["locator"] = locator
        url = f"{self._sf.base_url}jobs/query/{job_id}/results"
        headers = {**self._sf.headers, "Accept-Encoding": "gzip"}
        # A GET: re-sent on a 503 or a drop without `reading()`, which must not stay on
        # while the caller reads the page (and, between rows, might send something else).
        try:
            with self._session.streamed("GET", url, headers=headers, params=params) as response:
                if response.status_code >= 400:
                    raise BulkQueryError(
                        f"{what}: results refused: HTTP {response.status_code} "
                        f"{response.text[:200]}",
                        status=response.status_code,
                    )
                yield response
        except requests.RequestException as exc:
            raise BulkQueryError(f"{what}: {_download_failure(exc)}") from None
        except RequestError as exc:
            if type(exc) is not RequestError:
                raise  # the daily limit, a rejected token: their own words are clearer
            raise BulkQueryError(f"{what}: {exc}", status=exc.status) from None

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
