"""Bulk API 2.0 query jobs: create, poll, results by locator, abort, delete.

Follows the Bulk API 2.0 and Bulk API Developer Guide ("Query Jobs"):
`POST /jobs/query` with `{operation: query | queryAll, query, contentType: CSV,
columnDelimiter, lineEnding}` answers the job info (state `UploadComplete`);
`GET /jobs/query/{id}` reports `InProgress` for `bulk_query_polls` polls, then
`JobComplete` (or `Failed` with `errorMessage`, or `Aborted`) with
`numberRecordsProcessed`; `GET /jobs/query/{id}/results?locator=&maxRecords=` answers
one CSV page with the headers `Sforce-Locator` (the next page's locator, the string
"null" after the last) and `Sforce-NumberOfRecords`; `PATCH {state: Aborted}` aborts;
`DELETE` removes a finished job. In the CSV an empty cell is null, booleans are
`true`/`false`, dateTimes ISO as in JSON; every cell is quoted, as Salesforce does.

The answer is a snapshot taken at creation (the query runs then), like a REST cursor.
Results pages are gzip-compressed (`Content-Encoding: gzip`) when the request's
`Accept-Encoding` names gzip, as the guide documents; a request without `maxRecords`
gets pages of `bulk_query_page_size` (100,000). Every page carries the header row.

Faults (see faults.py): `query_job_outcome` fails or aborts every job on its first
poll; `query_results_cut_every` sends every Nth results page's headers and half its
body, then closes the connection; `query_results_broken_every` spoils every Nth page
as `query_results_broken` says (bad quoting, a short row, another header, a gzip
stream whose check fails).
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roleSync.emulators.faults import every
from roleSync.emulators.salesforce.bulk import (
    DELIMITERS,
    TERMINAL,
    bulk_error,
    csv_format,
    forget_finished,
    job_request,
    missing_job,
)
from roleSync.emulators.salesforce.http import Request, Response, json_response
from roleSync.emulators.salesforce.schema import format_datetime, make_id, to_csv
from roleSync.emulators.salesforce.soql_eval import compile_soql, run
from roleSync.emulators.salesforce.soql_lexer import SoqlError

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


@dataclass(slots=True)
class QueryJob:
    id: str
    sobject: str
    operation: str
    query: str
    delimiter: str
    line_ending: str
    created: datetime
    header: list[str]
    rows: list[list[str]]
    state: str = "UploadComplete"
    polls_left: int = 0
    error_message: str | None = None
    pages_served: int = field(default=0)

    def info(self, version: str) -> dict[str, Any]:
        delimiter = next(k for k, v in DELIMITERS.items() if v == self.delimiter)
        done = self.state == "JobComplete"
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": "005EM0000000000AAA",
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": delimiter,
            "numberRecordsProcessed": len(self.rows) if done else 0,
            "retries": 0,
            "totalProcessingTime": 0,
            **({"errorMessage": self.error_message} if self.error_message else {}),
        }


class QueryJobs:
    def __init__(self) -> None:
        self.by_id: dict[str, QueryJob] = {}
        self.serial = 0


def create(emu: SalesforceEmulator, request: Request, version: str) -> Response:
    body = job_request(request)
    if isinstance(body, Response):
        return body
    operation = body.get("operation")
    if operation not in {"query", "queryAll"}:
        return bulk_error(400, "INVALIDJOB", f"Invalid operation: {operation}")
    fmt = csv_format(body)
    if isinstance(fmt, Response):
        return fmt
    delimiter, line_ending = fmt
    store = emu.store
    try:
        bound = compile_soql(str(body.get("query", "")), store.schema)
    except SoqlError as exc:
        return bulk_error(400, "INVALIDJOB", f"{exc.code}: {exc.message}")
    if bound.count_only:
        return bulk_error(400, "INVALIDJOB", "COUNT() is not supported by Bulk API 2.0 query")
    with store.lock:
        records = run(
            bound, store.table(bound.sobject).values(), include_deleted=operation == "queryAll"
        )
        rows = [[to_csv(record.get(name)) for name in bound.fields] for record in records]
    with emu.query_jobs_lock:
        jobs = emu.query_jobs
        jobs.serial += 1
        job = QueryJob(
            make_id("750", 500_000 + jobs.serial),
            bound.sobject.name,
            operation,
            str(body["query"]),
            delimiter,
            line_ending,
            store.clock.peek(),
            list(bound.fields),
            rows,
            polls_left=emu.config.bulk_query_polls,
        )
        jobs.by_id[job.id] = job
        forget_finished(jobs.by_id)
    return json_response(200, job.info(version))


def _job(emu: SalesforceEmulator, job_id: str) -> QueryJob | None:
    with emu.query_jobs_lock:
        return emu.query_jobs.by_id.get(job_id)


def poll(emu: SalesforceEmulator, version: str, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    outcome = emu.fault_state.faults.query_job_outcome
    with emu.query_jobs_lock:
        if job.state in {"UploadComplete", "InProgress"}:
            if outcome == "failed":
                job.state = "Failed"
                job.error_message = "InternalServerError : emulated query job failure"
            elif outcome == "aborted":
                job.state = "Aborted"
            elif job.polls_left > 0:
                job.polls_left -= 1
                job.state = "InProgress"
            else:
                job.state = "JobComplete"
        return json_response(200, job.info(version))


def _page_size(emu: SalesforceEmulator, raw: str | None) -> int | None:
    if raw is None:
        return emu.config.bulk_query_page_size
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def results(emu: SalesforceEmulator, request: Request, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    if job.state != "JobComplete":
        return bulk_error(400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state}, not JobComplete")
    size = _page_size(emu, request.param("maxRecords"))
    locator = request.param("locator") or "0"
    if size is None:
        return bulk_error(400, "INVALIDINPUT", "maxRecords must be a positive integer")
    # Locators are opaque to clients; here the offset, written in base 36.
    try:
        start = int(locator, 36)
    except ValueError:
        start = -1
    if not 0 <= start <= len(job.rows):
        return bulk_error(400, "INVALIDINPUT", f"Invalid locator: {locator}")
    page = job.rows[start : start + size]
    end = start + len(page)
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=job.delimiter,
        quoting=csv.QUOTE_ALL,
        lineterminator=LINE_ENDINGS[job.line_ending],
    )
    writer.writerow(job.header)
    writer.writerows(page)
    headers = {
        "Sforce-Locator": _base36(end) if end < len(job.rows) else "null",
        "Sforce-NumberOfRecords": str(len(page)),
    }
    text = buffer.getvalue()
    del buffer
    with emu.query_jobs_lock:
        job.pages_served += 1
        served = emu.query_pages_served = emu.query_pages_served + 1
    faults = emu.fault_state.faults
    broken = (
        faults.query_results_broken if every(faults.query_results_broken_every, served) else None
    )
    if broken in BREAKS:
        text = BREAKS[broken](text, job.delimiter, LINE_ENDINGS[job.line_ending])
        emu.note_fault(f"broken_{broken}")
    body = text.encode("utf-8")
    del text
    if broken == "gzip" or "gzip" in request.headers.get("accept-encoding", ""):
        # Level 1: the emulator's time is not what a benchmark measures.
        body = gzip.compress(body, compresslevel=1, mtime=0)
        headers["Content-Encoding"] = "gzip"
        if broken == "gzip":
            # The CRC-32 at the end no longer matches: every row decodes, then the
            # stream fails its check on the last chunk.
            body = body[:-8] + bytes(b ^ 0xFF for b in body[-8:-4]) + body[-4:]
            emu.note_fault("broken_gzip")
    answer = Response(200, body, "text/csv", headers)
    if every(faults.query_results_cut_every, served):
        answer.cut_at = len(answer.body) // 2
        emu.note_fault("cut")
    return answer


def _bad_quoting(text: str, delimiter: str, line_ending: str) -> str:
    """A stray character after the first data row's first closing quote."""
    header, row, rest = _split(text, line_ending)
    closing = row.index('"', 1)
    return header + line_ending + row[: closing + 1] + "x" + row[closing + 1 :] + rest


def _short_row(text: str, delimiter: str, line_ending: str) -> str:
    """The first data row without its last cell (every cell is quoted)."""
    header, row, rest = _split(text, line_ending)
    return header + line_ending + row[: row.rindex(delimiter + '"')] + rest


def _other_header(text: str, delimiter: str, line_ending: str) -> str:
    """The header's last field renamed: not the fields the job selected."""
    header, row, rest = _split(text, line_ending)
    return header[:-1] + 'X"' + line_ending + row + rest


def _split(text: str, line_ending: str) -> tuple[str, str, str]:
    """(header, first data row, the rest with its leading line ending)."""
    header, _, after = text.partition(line_ending)
    row, sep, rest = after.partition(line_ending)
    return header, row, sep + rest


# Fault `query_results_broken`: how a results page is spoilt (gzip: after compression).
BREAKS = {"quoting": _bad_quoting, "short_row": _short_row, "header": _other_header}


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def set_state(emu: SalesforceEmulator, request: Request, version: str, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    try:
        wanted = request.json().get("state")
    except (ValueError, AttributeError):
        return bulk_error(400, "JSON_PARSER_ERROR", 'Expected {"state": ...}')
    with emu.query_jobs_lock:
        if wanted != "Aborted" or job.state in TERMINAL:
            return bulk_error(409, "INVALIDJOBSTATE", f"Cannot move a {job.state} job to {wanted}")
        job.state = "Aborted"
        return json_response(200, job.info(version))


def delete(emu: SalesforceEmulator, job_id: str) -> Response:
    with emu.query_jobs_lock:
        job = emu.query_jobs.by_id.get(job_id)
        if job is None:
            return missing_job()
        if job.state not in TERMINAL:
            return bulk_error(409, "INVALIDJOBSTATE", f"Cannot delete a {job.state} job")
        del emu.query_jobs.by_id[job_id]
    return Response(204, content_type=None)
