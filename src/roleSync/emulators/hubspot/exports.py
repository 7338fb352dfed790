"""The CRM exports API: start an export, poll its task, download the file.

Wire as documented (developers.hubspot.com, "CRM API | Exports"; see
/work/shared/crm-api-notes.md): `POST /crm/v3/exports/export/async` with
`{exportType: VIEW, format: CSV, exportName, language, objectType, objectProperties,
associatedObjectType}` answers 202 `{"id": "<taskId>", "links": {}}`;
`GET /crm/v3/exports/export/async/tasks/{taskId}/status` answers
`{"status": PENDING|PROCESSING|COMPLETE|CANCELED, "result": <download URL when COMPLETE>,
...}`. The file is a CSV, or a zip of CSV files when it is large (split every
`rows_per_file` rows; HubSpot: 1,000,000). Limits: `daily_limit` exports (HubSpot: 30 a
rolling day), refused with 403 once reached. The file is built in a thread after the 202
(a start answers at once, as HubSpot's does, however big the export); a status call
waits up to `build_wait_seconds` for it, then answers PROCESSING.

The file's columns are the requested internal property names (`exportInternalValuesOptions`
NAMES, VALUES) and, with an associated object type, `Associated <Type> IDs` holding the
ids separated by ";" (how HubSpot names that column is unconfirmed). The download URL is
pre-signed: a request carrying an Authorization header is refused (400), as a pre-signed
storage URL refuses a second credential.

Faults (`ExportSettings.fault`, for the next export started, or the next of
`fault_object` (COMPANY, DEAL) when set, then cleared): "failed" (the task ends
CANCELED), "expired" (the download answers 410), "expired_once" (the first download
answers 410, as a URL fetched too late; the next URL works), "garbled" (the file is not
CSV nor zip), "empty" (a CSV of the header alone), "cut" (the download announces the
whole file and sends half), "bad_row" (a row halfway through has more cells than the
header), "bad_zip" (the file zipped, uncompressed, with one byte of the data in the
middle changed: every row parses, the member's CRC-32 does not match at its end).
Counters: exports_start, exports_status, exports_download (route kinds).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from roleSync.emulators.http import Request, Response, json_response
from roleSync.emulators.hubspot.wire import error

if TYPE_CHECKING:
    from roleSync.emulators.hubspot.emulator import HubSpotEmulator
    from roleSync.emulators.hubspot.routes import Route

ExportFault = Literal[
    "failed", "expired", "expired_once", "garbled", "empty", "cut", "bad_row", "bad_zip"
]
OBJECT_TYPES = {"COMPANY": "companies", "DEAL": "deals", "CONTACT": "contacts", "TASK": "tasks"}
_START = re.compile(r"/crm/v3/exports/export/async/?")
_STATUS = re.compile(r"/crm/v3/exports/export/async/tasks/(?P<id>[^/]+)/status/?")
_DOWNLOAD = re.compile(r"/_exports/(?P<id>\d+)/(?P<key>[0-9a-f]+)")


@dataclass
class ExportSettings:
    # Status calls a task answers PENDING, then PROCESSING, before COMPLETE.
    polls_to_complete: int = 2
    rows_per_file: int = 1_000_000
    daily_limit: int = 30
    enabled: bool = True  # False: the token lacks the crm.export scope (403)
    fault: ExportFault | None = None
    fault_object: str | None = None  # the objectType the fault waits for; None: any
    # How long a status call waits for the file before answering PROCESSING.
    build_wait_seconds: float = 5.0


@dataclass
class ExportTask:
    id: int
    object_type: str
    file_name: str
    data: bytes = b""
    zipped: bool = False
    # Set once `data` is built (off the start request, as HubSpot answers 202 at once and
    # builds the file while the task is polled).
    built: threading.Event = field(default_factory=threading.Event)
    key: str = field(default_factory=lambda: secrets.token_hex(8))
    polls: int = 0
    fault: ExportFault | None = None
    requested_at: str = field(default_factory=lambda: _now())
    started_at: str | None = None
    completed_at: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ExportState:
    settings: ExportSettings = field(default_factory=ExportSettings)
    tasks: dict[int, ExportTask] = field(default_factory=dict)
    started: int = 0


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _file(
    emu: HubSpotEmulator,
    kind: str,
    names: list[str],
    associated: str | None,
    fault: ExportFault | None,
) -> bytes:
    """Every live record of `kind` as one CSV, or a zip of CSVs of `rows_per_file` rows."""
    target = OBJECT_TYPES.get(associated or "")
    header = list(names)
    if target is not None:
        header.append(f"Associated {associated.title() if associated else ''} IDs")
    store = emu.store
    rows: list[list[str]] = []
    with store.lock:
        for record in store.all(kind):
            row = ["" if record.get(n) is None else str(record.get(n)) for n in names]
            if target is not None:
                linked = store.associated(kind, str(record["hs_object_id"]), target)
                row.append(";".join(linked))
            rows.append(row)
    if fault == "bad_row":
        rows.insert(len(rows) // 2, ["1"] * (len(header) + 1))
    per = emu.exports.settings.rows_per_file
    if fault == "bad_zip":
        return _bad_zip(_csv(header, rows))
    if len(rows) <= per:
        return _csv(header, rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, start in enumerate(range(0, len(rows), per), start=1):
            archive.writestr(f"export-{n}.csv", _csv(header, rows[start : start + per]))
    return out.getvalue()


def _bad_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("export-1.csv", data)
    zipped = bytearray(out.getvalue())
    # The middle of the stored CSV: a digit becomes another one, so the CSV still reads
    # and only the CRC-32 tells.
    at = 30 + len("export-1.csv") + len(data) // 2
    while not chr(zipped[at]).isdigit():
        at += 1
    zipped[at] = ord("1") if zipped[at] != ord("1") else ord("2")
    return bytes(zipped)


def _start(emu: HubSpotEmulator, request: Request) -> Response:
    state = emu.exports
    if not state.settings.enabled:
        return error(403, "MISSING_SCOPES", "This app hasn't been granted the crm.export scope")
    try:
        body = request.json()
    except ValueError:
        return error(400, "VALIDATION_ERROR", "Invalid input JSON")
    if not isinstance(body, dict):
        return error(400, "VALIDATION_ERROR", "Invalid input JSON")
    kind = OBJECT_TYPES.get(str(body.get("objectType") or ""))
    names = body.get("objectProperties")
    if body.get("exportType") != "VIEW" or body.get("format") != "CSV" or kind is None:
        return error(400, "VALIDATION_ERROR", "exportType VIEW, format CSV and a known objectType")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return error(400, "VALIDATION_ERROR", "objectProperties must be a list of names")
    if state.started >= state.settings.daily_limit:
        return error(403, "EXPORT_LIMIT", "You have reached the daily limit of exports")
    associated = body.get("associatedObjectType")
    # The newest reference makes it an array: accept both shapes.
    if isinstance(associated, list):
        associated = associated[0] if associated else None
    state.started += 1
    fault = None
    wanted = state.settings.fault_object
    if wanted is None or wanted == body.get("objectType"):
        fault, state.settings.fault = state.settings.fault, None
    target = associated if isinstance(associated, str) else None
    task = ExportTask(state.started, kind, str(body.get("exportName") or "export"))
    task.fault = fault

    def build() -> None:
        task.data = _file(emu, kind, names, target, fault)
        task.zipped = task.data[:2] == b"PK"
        task.built.set()

    threading.Thread(target=build, name=f"export-{task.id}", daemon=True).start()
    state.tasks[task.id] = task
    return json_response(202, {"id": str(task.id), "links": {}})


def _status(emu: HubSpotEmulator, request: Request, task_id: str) -> Response:
    task = emu.exports.tasks.get(int(task_id)) if task_id.isdigit() else None
    if task is None:
        return error(404, "OBJECT_NOT_FOUND", f"No export task {task_id}")
    task.polls += 1
    # Times as the spec's date-time strings: requestedAt always; startedAt once the task
    # is processing and completedAt once it has ended (the spec marks both required,
    # what HubSpot sends before then is unconfirmed: they are left out until known).
    answer: dict[str, Any] = {"requestedAt": task.requested_at, "numErrors": 0, "errors": []}
    # A file still being built keeps the task PROCESSING (a big export); small ones are
    # waited for, so tests count the same polls however loaded the machine is.
    built = task.built.wait(emu.exports.settings.build_wait_seconds)
    if task.polls <= emu.exports.settings.polls_to_complete or not built:
        answer["status"] = "PENDING" if task.polls == 1 else "PROCESSING"
        if task.polls > 1:
            task.started_at = task.started_at or _now()
    else:
        task.started_at = task.started_at or _now()
        task.completed_at = task.completed_at or _now()
        if task.fault == "failed":
            answer["status"] = "CANCELED"
        else:
            answer["status"] = "COMPLETE"
            answer["result"] = f"{emu.url}/_exports/{task.id}/{task.key}"
    for key, value in (("startedAt", task.started_at), ("completedAt", task.completed_at)):
        if value is not None:
            answer[key] = value
    answer["links"] = {}
    return json_response(200, answer)


def _download(emu: HubSpotEmulator, request: Request, task_id: str, key: str) -> Response:
    task = emu.exports.tasks.get(int(task_id))
    if task is None or task.key != key:
        return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
    if "authorization" in request.headers:
        # A pre-signed URL carries its own credential: a bearer token is a second one.
        return Response(400, b"<Error><Code>InvalidArgument</Code></Error>", "application/xml")
    if task.fault in {"expired", "expired_once"}:
        task.fault = None if task.fault == "expired_once" else task.fault
        return Response(410, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
    kind = "application/zip" if task.zipped else "text/csv"
    if task.fault == "garbled":
        return Response(200, b"PK\x03\x04 not a zip at all", kind)
    if task.fault == "empty":
        return Response(200, _csv(["hs_object_id"], []), "text/csv")
    if task.fault == "cut":
        return Response(200, task.data, kind, cut_at=len(task.data) // 2)
    return Response(200, task.data, kind)


def route(request: Request) -> Route | None:
    """The exports route a request is for, or None."""
    from roleSync.emulators.hubspot.routes import Route, not_allowed

    path, method = request.path, request.method
    if _START.fullmatch(path):
        return Route("exports_start", _start) if method == "POST" else not_allowed(request)
    if match := _STATUS.fullmatch(path):
        task_id = match["id"]
        if method != "GET":
            return not_allowed(request)
        return Route("exports_status", lambda emu, req: _status(emu, req, task_id))
    if match := _DOWNLOAD.fullmatch(path):
        task_id, key = match["id"], match["key"]
        # No auth, limits nor request faults: the file comes from storage, not the API.
        return Route(
            "exports_download", lambda emu, req: _download(emu, req, task_id, key), api=False
        )
    return None
