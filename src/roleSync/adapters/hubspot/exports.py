"""Full pulls of companies and deals through the CRM exports API (large portals).

Wire followed (developers.hubspot.com "CRM API | Exports", see crm-api-notes.md):
`POST /crm/v3/exports/export/async` (exportType VIEW, format CSV, internal names and
values) answers 202 with a task id; `GET .../tasks/{taskId}/status` answers PENDING or
PROCESSING until COMPLETE with `result`, a pre-signed download URL (valid 5 minutes),
or CANCELED. The file is a CSV, or a zip of CSVs (large exports are zipped and split).
Deals are exported with `associatedObjectType: COMPANY`: an `Associated Company IDs`
column of ";"-separated ids (the column's name is unconfirmed).

Start and status go through the SDK (`crm.exports.public_exports_api`) and the client's
CallRunner like every API call. The download does not: a pre-signed URL carries its own
credential, so the bearer token is never sent to it (it may live on another host). It
is streamed, 64 KiB at a time, to a file of its own (mode 0600, in a private temporary
folder the pull removes when it ends), then read from there one row at a time
(`records`), straight into the mirror's transaction: no export is ever held whole.

Each record becomes the shape the list endpoints answer (`{"id", "properties"}`, an
empty cell as null), so records.py converts both alike: the Book, and so the plan, is
the same whichever way the portal was read.

A refused start (403: no crm.export scope, the day's exports used up) falls back to the
list endpoints with a logged line. Anything else that goes wrong (the task canceled, the
URL expired, a file that does not parse, a download cut short) raises ExportFailedError
naming the task: before anything is stored (start, poll, download), or while the rows
are written (a file that does not parse), which rolls the transaction back. Either way
the previous mirror stays as it was, and the next run starts over.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import urllib3

from roleSync.adapters.hubspot.client import HubSpotClient, check_host
from roleSync.adapters.resilience import RefusedError, RequestError

log = logging.getLogger(__name__)

ACCEPTED = frozenset({202})
OBJECT_TYPES = {"companies": "COMPANY", "deals": "DEAL"}
ID_COLUMN = "hs_object_id"
COMPANY_IDS = "Associated Company IDs"
# Status calls: every POLL_SECONDS, for at most MAX_POLLS (two hours).
POLL_SECONDS = 5.0
MAX_POLLS = 1440
CHUNK_BYTES = 1 << 16
# How storage answers a pre-signed URL past its time (HubSpot: 5 minutes after the status
# call that gave it); a status call gives a fresh one.
EXPIRED = frozenset({403, 404, 410})


class ExportFailedError(RequestError):
    """An export task failed, expired, or gave a file that could not be read."""


class DownloadRefusedError(ExportFailedError):
    """The download URL answered 403, 404 or 410: expired, most likely."""


class ExportRefusedError(Exception):
    """HubSpot would not start an export: read through the list endpoints instead."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """One export's file, on disk until the pull ends."""

    object_type: str
    task: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.object_type} export task {self.task}"


def start(client: HubSpotClient, object_type: str, properties: Sequence[str]) -> str:
    body: dict[str, Any] = {
        "exportType": "VIEW",
        "format": "CSV",
        "exportName": f"rolesync {object_type}",
        "language": "EN",
        "objectType": OBJECT_TYPES[object_type],
        "objectProperties": list(dict.fromkeys((ID_COLUMN, *properties))),
        "exportInternalValuesOptions": ["NAMES", "VALUES"],
    }
    if object_type == "deals":
        body["associatedObjectType"] = "COMPANY"
    try:
        # Replayable: a second start only costs one more of the day's exports.
        answer = client.call(
            f"start {object_type} export", "exports", "start", body, expected=ACCEPTED
        )
    except RefusedError as exc:
        raise ExportRefusedError(str(exc)) from None
    task = answer.get("id")
    if task in (None, ""):
        raise ExportFailedError(f"the {object_type} export answer carried no task id")
    return str(task)


def wait(client: HubSpotClient, object_type: str, task: str) -> str:
    """Poll the task until it is complete; its download URL."""
    for _ in range(MAX_POLLS):
        answer = client.call(
            f"{object_type} export task {task} status", "exports", "get_status", int(task)
        )
        status = str(answer.get("status") or "")
        if status == "COMPLETE":
            if isinstance(answer.get("result"), str) and answer["result"]:
                return str(answer["result"])
            raise ExportFailedError(f"{object_type} export task {task} completed without a file")
        if status not in {"PENDING", "PROCESSING"}:
            raise ExportFailedError(f"{object_type} export task {task} ended {status or '?'}")
        client.policy.sleep(POLL_SECONDS)
    raise ExportFailedError(f"{object_type} export task {task} did not complete in time")


def download(client: HubSpotClient, url: str, into: IO[bytes], label: str) -> None:
    """Stream the file to `into`, without the bearer token (a pre-signed URL)."""
    parts = urlsplit(url)
    check_host(f"{parts.scheme}://{parts.netloc}", "the export download URL")
    connect, read = client.policy.timeout  # read: the longest wait between two chunks
    bundle = client._ca_bundle  # the profile's CA bundle (a TLS-inspecting proxy)
    pool = urllib3.PoolManager(retries=False, ca_certs=str(bundle) if bundle else None)
    try:
        answer = pool.request(
            "GET", url, preload_content=False, timeout=urllib3.Timeout(connect=connect, read=read)
        )
        try:
            if answer.status != 200:
                if answer.status in EXPIRED:
                    raise DownloadRefusedError(
                        f"{label}: the download answered {answer.status} (expired?)"
                    )
                raise ExportFailedError(f"{label}: the download answered {answer.status}")
            for chunk in answer.stream(CHUNK_BYTES):
                into.write(chunk)
        finally:
            answer.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        # Cut halfway (fewer bytes than announced), refused, timed out.
        raise ExportFailedError(f"{label}: the download broke off ({type(exc).__name__})") from None
    finally:
        pool.clear()


def _tables(file: IO[bytes]) -> Iterator[IO[bytes]]:
    head = file.read(4)
    file.seek(0)
    if head != b"PK\x03\x04":
        yield file
        return
    with zipfile.ZipFile(file) as archive:
        # In the archive's order: the split files follow the export's row order.
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if not names:
            raise zipfile.BadZipFile("no CSV file in the zip")
        for name in names:
            with archive.open(name) as member:
                yield member


def records(downloaded: Downloaded) -> Iterator[tuple[dict[str, Any], list[str] | None]]:
    """Each row of the file (the CSV, or each CSV in the zip), as the list endpoints
    shape a record, with the company ids the row names (None: no such column). Raises
    ExportFailedError naming the task at the first row that does not parse."""
    label = downloaded.label
    try:
        with downloaded.path.open("rb") as file:
            for table in _tables(file):
                text = io.TextIOWrapper(table, encoding="utf-8-sig", newline="")
                reader = csv.DictReader(text)
                if reader.fieldnames is None or ID_COLUMN not in reader.fieldnames:
                    raise ExportFailedError(f"{label}: the file has no {ID_COLUMN} column")
                for row in reader:
                    record_id = row.pop(ID_COLUMN, None)
                    if not record_id or None in row or None in row.values():
                        # A row with more cells than the header (key None), or fewer
                        # (values None), or without an id.
                        raise ExportFailedError(f"{label}: row {reader.line_num} does not parse")
                    linked = row.pop(COMPANY_IDS, None)
                    companies = None if linked is None else [i for i in linked.split(";") if i]
                    properties: dict[str, Any] = {k: (v or None) for k, v in row.items()}
                    properties[ID_COLUMN] = record_id
                    yield {"id": record_id, "properties": properties}, companies
    except (
        zipfile.BadZipFile,
        zlib.error,
        UnicodeDecodeError,
        csv.Error,
        EOFError,
        OSError,
    ) as exc:
        # BadZipFile also when a member's CRC-32 does not match (at its end); zlib.error
        # for compressed data that does not inflate.
        raise ExportFailedError(f"{label}: the file does not parse ({exc})") from None


def _private_file(path: Path) -> IO[bytes]:
    # 0600 from the start (not chmod after): the file holds the portal's records.
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def export(
    client: HubSpotClient, object_type: str, properties: Sequence[str], folder: Path
) -> Downloaded:
    """Every record of `object_type` through one export, downloaded into `folder`.
    ExportRefusedError when HubSpot will not start it; ExportFailedError (naming the
    task) when it fails later."""
    task = start(client, object_type, properties)
    downloaded = Downloaded(object_type, task, folder / f"{object_type}-{task}.export")
    url = wait(client, object_type, task)
    with _private_file(downloaded.path) as file:
        try:
            download(client, url, file, downloaded.label)
        except DownloadRefusedError:
            # Expired before we came to it (a slow poll, a retry): once more, fresh.
            file.seek(0)
            file.truncate()
            download(client, wait(client, object_type, task), file, downloaded.label)
    return downloaded


def log_fallback(object_type: str, reason: str) -> None:
    log.warning("hubspot: %s export refused (%s); reading the list endpoints", object_type, reason)
