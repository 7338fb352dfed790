"""Bulk API 2.0 ingest jobs (update): create, upload CSV, close, poll, results.

The job is processed when it is closed (UploadComplete), synchronously, and then
reports InProgress for `bulk_polls_before_complete` polls before JobComplete, so
adapters can be tested against both a quick and a slow org.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from roleSync.emulators.salesforce.http import (
    Request,
    Response,
    csv_response,
    json_response,
    unreadable_body,
)
from roleSync.emulators.salesforce.schema import format_datetime, make_id, resolve_sobject
from roleSync.emulators.salesforce.store import RecordError, lock_error

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
TERMINAL = {"JobComplete", "Failed", "Aborted"}
# Finished jobs beyond this many are forgotten, oldest first, to bound memory.
MAX_JOBS = 500
# In Bulk CSV an empty cell leaves the field alone; #N/A sets it to null.
NULL_MARKER = "#N/A"


@dataclass(slots=True)
class Outcome:
    record_id: str
    row: list[str]
    error: str | None  # Bulk's "CODE:message:fields" text, None on success


@dataclass(slots=True)
class Job:
    id: str
    sobject: str
    operation: str
    delimiter: str
    line_ending: str
    created: datetime
    state: str = "Open"
    header: list[str] = field(default_factory=list)
    data: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    polls_left: int = 0
    error_message: str | None = None

    def info(self, version: str) -> dict[str, Any]:
        failed = sum(1 for o in self.outcomes if o.error is not None)
        delimiter = next(k for k, v in DELIMITERS.items() if v == self.delimiter)
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
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending,
            "columnDelimiter": delimiter,
            "numberRecordsProcessed": len(self.outcomes),
            "numberRecordsFailed": failed,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
            **({"errorMessage": self.error_message} if self.error_message else {}),
        }


class Jobs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, Job] = {}
        self.serial = 0


def bulk_error(status: int, code: str, message: str) -> Response:
    """An error answer of the Bulk API 2.0 (ingest and query jobs alike)."""
    return json_response(status, [{"errorCode": code, "message": message}])


def missing_job() -> Response:
    return bulk_error(404, "NOT_FOUND", "The requested resource does not exist")


def job_request(request: Request) -> dict[str, Any] | Response:
    """The body of a job creation: a JSON object, or the error answer."""
    try:
        body = request.json()
    except ValueError as exc:
        return bulk_error(400, "JSON_PARSER_ERROR", unreadable_body(exc))
    if not isinstance(body, dict):
        return bulk_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def csv_format(body: dict[str, Any]) -> tuple[str, str] | Response:
    """(delimiter character, line ending name) a job asks for, or the error answer."""
    if body.get("contentType", "CSV") != "CSV":
        return bulk_error(400, "INVALIDJOB", "contentType must be CSV")
    delimiter = DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
    line_ending = str(body.get("lineEnding", "LF"))
    if delimiter is None or line_ending not in {"LF", "CRLF"}:
        return bulk_error(400, "INVALIDJOB", "Unsupported columnDelimiter or lineEnding")
    return delimiter, line_ending


def forget_finished(by_id: dict[str, Any]) -> None:
    """Drop the oldest finished jobs beyond MAX_JOBS (call with the jobs' lock held)."""
    finished = [k for k, j in by_id.items() if j.state in TERMINAL]
    for old in finished[: max(0, len(by_id) - MAX_JOBS)]:
        del by_id[old]


def create(emu: SalesforceEmulator, request: Request, version: str) -> Response:
    body = job_request(request)
    if isinstance(body, Response):
        return body
    sobject = resolve_sobject(emu.store.schema, str(body.get("object", "")))
    if sobject is None:
        return bulk_error(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
    if body.get("operation") != "update":
        return bulk_error(
            400,
            "INVALIDJOB",
            f"Unsupported operation: {body.get('operation')} (the emulator implements update)",
        )
    fmt = csv_format(body)
    if isinstance(fmt, Response):
        return fmt
    delimiter, line_ending = fmt
    with emu.jobs.lock:
        emu.jobs.serial += 1
        job = Job(
            make_id("750", emu.jobs.serial),
            sobject.name,
            "update",
            delimiter,
            line_ending,
            emu.store.clock.peek(),
        )
        emu.jobs.by_id[job.id] = job
        forget_finished(emu.jobs.by_id)
    emu.note_bulk_job()
    return json_response(200, job.info(version))


def _job(emu: SalesforceEmulator, job_id: str) -> Job | None:
    with emu.jobs.lock:
        return emu.jobs.by_id.get(job_id)


def upload(emu: SalesforceEmulator, request: Request, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    if "text/csv" not in request.headers.get("content-type", ""):
        return bulk_error(400, "INVALIDJOB", "Content-Type must be text/csv")
    with emu.jobs.lock:
        if job.state != "Open" or job.data is not None:
            return bulk_error(409, "INVALIDJOBSTATE", "Data can be uploaded once, to an Open job")
        job.data = request.body.decode("utf-8-sig")
    return Response(201, content_type=None)


def set_state(emu: SalesforceEmulator, request: Request, version: str, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    try:
        wanted = request.json().get("state")
    except (ValueError, AttributeError):
        return bulk_error(400, "JSON_PARSER_ERROR", 'Expected {"state": ...}')
    with emu.jobs.lock:
        if wanted == "Aborted" and job.state not in TERMINAL:
            job.state = "Aborted"
            return json_response(200, job.info(version))
        if wanted != "UploadComplete" or job.state != "Open":
            return bulk_error(409, "INVALIDJOBSTATE", f"Cannot move a {job.state} job to {wanted}")
        job.state = "UploadComplete"
        info = job.info(version)
        job.polls_left = emu.config.bulk_polls_before_complete
    _process(emu, job)
    return json_response(200, info)


def _process(emu: SalesforceEmulator, job: Job) -> None:
    if not job.data:
        job.state, job.error_message = "Failed", "InvalidBatch : Failed to process query: no data"
        return
    reader = csv.reader(io.StringIO(job.data, newline=""), delimiter=job.delimiter)
    rows = list(reader)
    job.header = rows[0] if rows else []
    columns = [name.strip() for name in job.header]
    id_column = next((i for i, name in enumerate(columns) if name.lower() == "id"), None)
    if id_column is None:
        job.state, job.error_message = "Failed", "InvalidBatch : Field name not found : Id"
        return
    store = emu.store
    sobject = store.sobject(job.sobject)
    with store.lock:
        for row in rows[1:]:
            if not any(cell.strip() for cell in row):
                continue
            record_id = row[id_column] if id_column < len(row) else ""
            changes: dict[str, Any] = {}
            for index, name in enumerate(columns):
                cell = row[index] if index < len(row) else ""
                if index != id_column and cell != "":
                    changes[name] = None if cell == NULL_MARKER else cell
            try:
                canonical, typed = store.check_update(sobject, record_id, changes)
                if emu.fault_state.row_locked(canonical):
                    raise lock_error(canonical)
                store.apply_update(sobject, canonical, typed)
                job.outcomes.append(Outcome(canonical, row, None))
            except RecordError as exc:
                code, message = exc.code, exc.message
                if code == "NOT_FOUND":
                    code, message = "ENTITY_IS_DELETED", "entity is deleted"
                job.outcomes.append(
                    Outcome(record_id, row, f"{code}:{message}:{','.join(exc.fields) or '--'}")
                )


def poll(emu: SalesforceEmulator, version: str, job_id: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    with emu.jobs.lock:
        if job.state in {"UploadComplete", "InProgress"}:
            if job.polls_left > 0:
                job.polls_left -= 1
                job.state = "InProgress"
            else:
                job.state = "JobComplete"
        return json_response(200, job.info(version))


def results(emu: SalesforceEmulator, job_id: str, kind: str) -> Response:
    job = _job(emu, job_id)
    if job is None:
        return missing_job()
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    if kind == "unprocessedrecords":
        writer.writerow(job.header)
        if job.state == "Aborted" and job.data and not job.outcomes:
            writer.writerows(
                list(csv.reader(io.StringIO(job.data, newline=""), delimiter=job.delimiter))[1:]
            )
        return csv_response(200, buffer.getvalue())
    success = kind == "successfulResults"
    writer.writerow(["sf__Id", "sf__Created" if success else "sf__Error", *job.header])
    for outcome in job.outcomes:
        if (outcome.error is None) == success:
            writer.writerow(
                [outcome.record_id, "false" if success else outcome.error, *outcome.row]
            )
    return csv_response(200, buffer.getvalue())


def delete(emu: SalesforceEmulator, job_id: str) -> Response:
    with emu.jobs.lock:
        job = emu.jobs.by_id.get(job_id)
        if job is None:
            return missing_job()
        if job.state not in TERMINAL | {"UploadComplete"}:
            return bulk_error(409, "INVALIDJOBSTATE", f"Cannot delete a {job.state} job")
        del emu.jobs.by_id[job_id]
    return Response(204, content_type=None)


def list_jobs(emu: SalesforceEmulator, version: str) -> Response:
    with emu.jobs.lock:
        infos = [job.info(version) for job in emu.jobs.by_id.values()]
    return json_response(200, {"done": True, "records": infos, "nextRecordsUrl": None})
