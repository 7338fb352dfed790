"""The emulator's CRM exports API on the wire: the task's life (PENDING, PROCESSING,
COMPLETE), the file (a CSV, or a zip of split CSVs with associated ids), the pre-signed
download refusing a bearer token, the daily limit, and the faults."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import urllib3
from hs_emu_support import running

from hs_portal import relaxed
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.exports import ExportSettings

START = "/crm/v3/exports/export/async"
DEAL_EXPORT = {
    "exportType": "VIEW",
    "format": "CSV",
    "exportName": "deals",
    "language": "EN",
    "objectType": "DEAL",
    "objectProperties": ["hs_object_id", "dealstage"],
    # The newest reference's array shape.
    "associatedObjectType": ["COMPANY"],
}
http = urllib3.PoolManager(retries=False)


def _api(emu: HubSpotEmulator, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {emu.config.access_token}"}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    return http.request(method, emu.url + path, body=data, headers=headers)


def _status(emu: HubSpotEmulator, task: str) -> dict[str, Any]:
    answer = _api(emu, "GET", f"{START}/tasks/{task}/status")
    assert answer.status == 200
    found: dict[str, Any] = json.loads(answer.data)
    return found


def test_a_deal_export_completes_and_downloads_as_a_zip_of_split_files() -> None:
    config = relaxed(exports=ExportSettings(rows_per_file=20, polls_to_complete=2))
    with running(config, companies=10, deals=45) as emu:
        started = _api(emu, "POST", START, DEAL_EXPORT)
        assert started.status == 202
        task = json.loads(started.data)["id"]
        assert [_status(emu, task)["status"] for _ in range(2)] == ["PENDING", "PROCESSING"]
        done = _status(emu, task)
        assert done["status"] == "COMPLETE"
        # Pre-signed: a bearer token is a second credential, refused.
        with_token = http.request("GET", done["result"], headers={"Authorization": "Bearer x"})
        assert with_token.status == 400
        file = http.request("GET", done["result"])
        assert file.status == 200 and file.headers["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(file.data)) as archive:
            names = archive.namelist()
            rows = [
                row
                for name in names
                for row in csv.DictReader(io.StringIO(archive.read(name).decode()))
            ]
        # 45 deals in files of 20: 20, 20, 5.
        assert names == ["export-1.csv", "export-2.csv", "export-3.csv"]
        assert len(rows) == 45
        linked = {
            r["hs_object_id"]: [i for i in r["Associated Company IDs"].split(";") if i]
            for r in rows
        }
        assert linked == {d: emu.store.associated("deals", d, "companies") for d in linked}
        assert any(linked.values())
        assert emu.counters["exports_start"] == 1 and emu.counters["exports_status"] == 3
        assert emu.counters["exports_download"] == 2


def test_the_daily_limit_and_a_missing_scope_are_refused_with_403() -> None:
    with running(relaxed(exports=ExportSettings(daily_limit=1)), deals=5) as emu:
        assert _api(emu, "POST", START, DEAL_EXPORT).status == 202
        second = _api(emu, "POST", START, DEAL_EXPORT)
        assert second.status == 403 and json.loads(second.data)["category"] == "EXPORT_LIMIT"
        emu.exports.settings.enabled = False
        assert json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["category"] == (
            "MISSING_SCOPES"
        )


def test_faults_hit_one_export_only() -> None:
    settings = ExportSettings(polls_to_complete=0, fault="failed")
    with running(relaxed(exports=settings), deals=5) as emu:
        failed = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        assert _status(emu, failed)["status"] == "CANCELED"
        fine = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        assert _status(emu, fine)["status"] == "COMPLETE"
        emu.exports.settings.fault = "expired"
        expired = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        assert http.request("GET", _status(emu, expired)["result"]).status == 410
        emu.exports.settings.fault = "cut"
        cut = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        answer = http.request("GET", _status(emu, cut)["result"], preload_content=False)
        try:
            answer.read()
            raise AssertionError("a cut download read whole")
        except urllib3.exceptions.ProtocolError:
            pass
        finally:
            answer.release_conn()


def test_status_answers_carry_the_spec_times() -> None:
    with running(relaxed(exports=ExportSettings(polls_to_complete=2)), deals=5) as emu:
        task = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        pending, processing, done = (_status(emu, task) for _ in range(3))
        assert "startedAt" not in pending and "completedAt" not in processing
        assert processing["startedAt"] == done["startedAt"]
        assert pending["requestedAt"] == done["requestedAt"] <= done["completedAt"]
        assert done["completedAt"].endswith("Z") and done["numErrors"] == 0


def test_a_bad_row_or_a_bad_zip_waits_for_its_object_type() -> None:
    company_export = {**DEAL_EXPORT, "objectType": "COMPANY", "associatedObjectType": []}
    settings = ExportSettings(polls_to_complete=0, fault="bad_row", fault_object="DEAL")
    with running(relaxed(exports=settings), companies=4, deals=6) as emu:
        companies = json.loads(_api(emu, "POST", START, company_export).data)["id"]
        deals = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        fine = http.request("GET", _status(emu, companies)["result"]).data.decode()
        assert {len(r) for r in csv.reader(io.StringIO(fine))} == {2}
        bad = list(
            csv.reader(
                io.StringIO(http.request("GET", _status(emu, deals)["result"]).data.decode())
            )
        )
        # Header and rows: 3 cells (the associated ids too); one row in the middle has 4.
        assert sorted(len(r) for r in bad) == [3] * 7 + [4]
        emu.exports.settings.fault, emu.exports.settings.fault_object = "bad_zip", None
        zipped = json.loads(_api(emu, "POST", START, DEAL_EXPORT).data)["id"]
        data = http.request("GET", _status(emu, zipped)["result"]).data
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() == "export-1.csv"  # the member whose CRC-32 fails
