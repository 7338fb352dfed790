"""Bulk API 2.0 query jobs on the emulator, over the wire: lifecycle, locator pages,
headers, CSV escaping, queryAll, abort/delete, and the SDK's own bulk2 query."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sf_emu_support import API_VERSION, bulk2, connect, tls_session

from roleSync.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceEmulatorConfig,
    SalesforceFaults,
)


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    emulator = SalesforceEmulator(SalesforceEmulatorConfig(bulk_query_polls=1))
    emulator.seed(users=3, accounts=10, opportunities=0, seed=2)
    with emulator:
        yield emulator


class Wire:
    def __init__(self, emu: SalesforceEmulator) -> None:
        self.session = tls_session(emu)
        self.base = f"{emu.url}/services/data/v{API_VERSION}/jobs/query"
        self.headers = {"Authorization": f"Bearer {emu.config.access_token}"}

    def send(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return self.session.request(method, self.base + path, **kwargs)

    def create(self, query: str, operation: str = "query") -> str:
        answer = self.send("POST", json={"operation": operation, "query": query})
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "UploadComplete"
        return str(answer.json()["id"])


def test_a_job_is_in_progress_then_complete_and_pages_by_locator(emu: SalesforceEmulator) -> None:
    wire = Wire(emu)
    job = wire.create("SELECT Id, Name FROM Account")
    assert wire.send("GET", f"/{job}/results").status_code == 400  # not complete yet
    assert wire.send("GET", f"/{job}").json()["state"] == "InProgress"
    done = wire.send("GET", f"/{job}").json()
    assert (done["state"], done["numberRecordsProcessed"]) == ("JobComplete", 10)
    ids: list[str] = []
    locator = ""
    sizes = []
    while True:
        params = {"maxRecords": 4, **({"locator": locator} if locator else {})}
        page = wire.send("GET", f"/{job}/results", params=params)
        rows = list(csv.reader(io.StringIO(page.text)))
        assert rows[0] == ["Id", "Name"]
        assert page.headers["Sforce-NumberOfRecords"] == str(len(rows) - 1)
        sizes.append(len(rows) - 1)
        ids += [row[0] for row in rows[1:]]
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert sizes == [4, 4, 2]
    assert sorted(ids) == sorted(str(a["Id"]) for a in emu.store.all("Account"))
    assert emu.counters["query_job_results"] == 4


def test_csv_cells_escape_quotes_commas_and_newlines_and_null_is_empty(
    emu: SalesforceEmulator,
) -> None:
    account = emu.store.all("Account")[0]
    name = 'He said "hi", then\nleft'
    emu.store.update("Account", str(account["Id"]), {"Name": name, "Industry": None})
    wire = Wire(emu)
    job = wire.create(f"SELECT Name, Industry FROM Account WHERE Id = '{account['Id']}'")
    wire.send("GET", f"/{job}")
    wire.send("GET", f"/{job}")
    page = wire.send("GET", f"/{job}/results")
    assert page.text == '"Name","Industry"\n"He said ""hi"", then\nleft",""\n'


def test_query_all_includes_deleted_rows_and_query_does_not(emu: SalesforceEmulator) -> None:
    gone = str(emu.store.all("Account")[0]["Id"])
    emu.store.delete("Account", gone)
    wire = Wire(emu)
    counts = {}
    for operation in ("query", "queryAll"):
        job = wire.create("SELECT Id, IsDeleted FROM Account", operation)
        wire.send("GET", f"/{job}")
        wire.send("GET", f"/{job}")
        rows = list(csv.reader(io.StringIO(wire.send("GET", f"/{job}/results").text)))[1:]
        counts[operation] = len(rows)
        assert ([gone, "true"] in rows) is (operation == "queryAll")
    assert counts == {"query": 9, "queryAll": 10}


def test_abort_then_delete_and_bad_jobs_are_refused(emu: SalesforceEmulator) -> None:
    wire = Wire(emu)
    job = wire.create("SELECT Id FROM Account")
    assert wire.send("DELETE", f"/{job}").status_code == 409  # still running
    assert wire.send("PATCH", f"/{job}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    assert wire.send("GET", f"/{job}").json()["state"] == "Aborted"
    assert wire.send("DELETE", f"/{job}").status_code == 204
    assert wire.send("GET", f"/{job}").status_code == 404
    refused = wire.send("POST", json={"operation": "query", "query": "SELECT COUNT() FROM Account"})
    assert refused.status_code == 400
    assert wire.send("POST", json={"operation": "upsert", "query": "x"}).status_code == 400


def test_a_failed_job_reports_its_error_message(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(query_job_outcome="failed"))
    wire = Wire(emu)
    info = wire.send("GET", f"/{wire.create('SELECT Id FROM Account')}").json()
    assert info["state"] == "Failed"
    assert info["errorMessage"].startswith("InternalServerError")


def test_a_cut_results_page_closes_the_connection_mid_body(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(query_results_cut_every=1))
    wire = Wire(emu)
    job = wire.create("SELECT Id FROM Account")
    wire.send("GET", f"/{job}")
    wire.send("GET", f"/{job}")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        wire.send("GET", f"/{job}/results")
    assert emu.counters["fault_cut"] == 1


def test_the_sdk_bulk2_query_reads_every_record(emu: SalesforceEmulator) -> None:
    # simple-salesforce's own client of the documented wire, as a second opinion.
    emu.config.bulk_query_polls = 0  # the SDK sleeps between polls
    query = bulk2(connect(emu), "Account").query("SELECT Id FROM Account", max_records=3, wait=0)
    pages = list(query)
    ids = [row[0] for page in pages for row in list(csv.reader(io.StringIO(str(page))))[1:]]
    assert len(pages) == 4
    assert sorted(ids) == sorted(str(a["Id"]) for a in emu.store.all("Account"))


def _complete(wire: Wire, query: str = "SELECT Id, Name FROM Account") -> str:
    job = wire.create(query)
    wire.send("GET", f"/{job}")
    wire.send("GET", f"/{job}")
    return job


def test_results_are_gzipped_when_asked_and_plain_otherwise(emu: SalesforceEmulator) -> None:
    wire = Wire(emu)
    job = _complete(wire)
    plain = wire.send("GET", f"/{job}/results", headers={"Accept-Encoding": ""})
    assert "Content-Encoding" not in plain.headers
    zipped = wire.send("GET", f"/{job}/results", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert zipped.headers["Content-Encoding"] == "gzip"
    raw = zipped.raw.read(decode_content=False)
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == plain.content
    assert int(zipped.headers["Content-Length"]) == len(raw)


def test_pages_are_100000_records_unless_max_records_says_otherwise() -> None:
    assert SalesforceEmulatorConfig().bulk_query_page_size == 100_000
    emulator = SalesforceEmulator(SalesforceEmulatorConfig(bulk_query_page_size=4))
    emulator.seed(users=3, accounts=10, opportunities=0, seed=2)
    with emulator:
        wire = Wire(emulator)
        job = _complete(wire)
        first = wire.send("GET", f"/{job}/results")  # no maxRecords: the configured size
        assert first.headers["Sforce-NumberOfRecords"] == "4"
        # Every page carries the header row.
        params = {"locator": first.headers["Sforce-Locator"], "maxRecords": 100}
        second = wire.send("GET", f"/{job}/results", params=params)
        rows = list(csv.reader(io.StringIO(second.text)))
        assert rows[0] == ["Id", "Name"]
        assert (len(rows), second.headers["Sforce-Locator"]) == (7, "null")


@pytest.mark.parametrize("broken", ["quoting", "short_row", "header"])
def test_a_broken_results_page_is_csv_no_reader_takes_for_the_job(
    emu: SalesforceEmulator, broken: str
) -> None:
    emu.set_faults(SalesforceFaults(query_results_broken_every=1, query_results_broken=broken))
    wire = Wire(emu)
    text = wire.send("GET", f"/{_complete(wire)}/results").text
    if broken == "quoting":
        with pytest.raises(csv.Error):
            list(csv.reader(io.StringIO(text), strict=True))
    else:
        rows = list(csv.reader(io.StringIO(text)))
        assert (rows[0] != ["Id", "Name"]) is (broken == "header")
        assert (len(rows[1]) == 1) is (broken == "short_row")
    assert emu.counters[f"fault_broken_{broken}"] == 1


def test_a_broken_gzip_stream_fails_its_check(emu: SalesforceEmulator) -> None:
    emu.set_faults(SalesforceFaults(query_results_broken_every=1, query_results_broken="gzip"))
    wire = Wire(emu)
    with pytest.raises(requests.exceptions.ContentDecodingError):
        wire.send("GET", f"/{_complete(wire)}/results")
    assert emu.counters["fault_broken_gzip"] == 1
