"""Full pulls through the CRM exports API against the emulator: the same plan bytes as
the list endpoints, the requests they cost, the fallback when exports are refused, and
each way an export can fail (the mirror stays as it was; the next run succeeds)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import pytest
from hs_adapter_support import adapter_for, example_profile, portal

from hs_portal import AS_OF, relaxed
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.exports import ExportFailedError, export, records, wait
from roleSync.adapters.hubspot.pull import FULL_PULL_AT
from roleSync.adapters.mirror import NO_ACCOUNT_PREFIX
from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulatorConfig
from roleSync.emulators.hubspot.exports import ExportFault, ExportSettings
from roleSync.sync.runner import PlanRequest, make_plan

RULES = Path(__file__).resolve().parents[2] / "rules"


def _config(**exports: Any) -> HubSpotEmulatorConfig:
    return relaxed(exports=ExportSettings(**exports))


def test_export_pull_plans_the_same_bytes_as_the_list_pull(tmp_path: Path) -> None:
    # 120 companies and 260 deals in files of 50 rows: both downloads are zips of
    # several CSVs (3 and 6 files).
    with portal(_config(rows_per_file=50), owners=8, companies=120, deals=260) as emu:
        # One deal also linked to the lowest company id: the file lists it second (links
        # in order), the list path picks the lowest; the export path must ask v4.
        lowest = min(emu.store.ordered_ids("companies"))
        deal = next(
            str(d["hs_object_id"])
            for d in emu.store.all("deals")
            if emu.store.company_of(str(d["hs_object_id"])) not in (None, str(lowest))
        )
        emu.store.link("deals", deal, "companies", str(lowest))
        listed = adapter_for(emu, tmp_path / "list", export_threshold=0)
        list_plan = make_plan(PlanRequest(listed.profile, [RULES], AS_OF.date()), listed)
        assert emu.counters["exports_start"] == 0
        lists = emu.counters["companies_list"], emu.counters["deals_list"]
        assert lists == (2, 3)
        associations = emu.counters["assoc_batch_read"]
        exported = adapter_for(emu, tmp_path / "export", export_threshold=100)
        export_plan = make_plan(PlanRequest(exported.profile, [RULES], AS_OF.date()), exported)
        # Both over 100 records: one export each, 3 status calls each (PENDING,
        # PROCESSING, COMPLETE), one download each; no list page read again.
        assert emu.counters["exports_start"] == 2
        assert emu.counters["exports_status"] == 6
        assert emu.counters["exports_download"] == 2
        assert (emu.counters["companies_list"], emu.counters["deals_list"]) == lists
        # v4 only for the one deal with two companies.
        assert emu.counters["assoc_batch_read"] == associations + 1
        assert export_plan.to_json() == list_plan.to_json()
        list_book, export_book = (
            listed.puller.mirror.read_book(),
            exported.puller.mirror.read_book(),
        )
        assert export_book.accounts == list_book.accounts
        assert export_book.deals == list_book.deals
        assert {d.account_id for d in export_book.deals if d.id == deal} == {str(lowest)}
        assert export_plan.owners and export_plan.changes
        assert len(export_book.accounts) == 120 and len(export_book.deals) == 260


def test_fewer_deals_than_companies_plan_the_same_bytes_both_ways(tmp_path: Path) -> None:
    """The list path reads the deals' companies from the deals' side here (fewer deals),
    resolved in SQL; the export path from the file, and v4 for a deal with three
    companies; a deal without a company stands alone both ways."""
    with portal(_config(rows_per_file=40), owners=8, companies=150, deals=90) as emu:
        deals = [str(d["hs_object_id"]) for d in emu.store.all("deals")]
        several, alone = deals[0], deals[1]
        for company in sorted(emu.store.ordered_ids("companies"))[-3:]:
            emu.store.link("deals", several, "companies", str(company))
        emu.store.unlink("deals", alone, "companies", str(emu.store.company_of(alone)))
        listed = adapter_for(emu, tmp_path / "list", export_threshold=0)
        list_plan = make_plan(PlanRequest(listed.profile, [RULES], AS_OF.date()), listed)
        # 90 deals < 150 companies: one v4 read from the deals' side (90 ids).
        assert emu.counters["assoc_batch_read"] == 1
        exported = adapter_for(emu, tmp_path / "export", export_threshold=50)
        export_plan = make_plan(PlanRequest(exported.profile, [RULES], AS_OF.date()), exported)
        assert emu.counters["exports_download"] == 2
        assert emu.counters["assoc_batch_read"] == 2  # the deal with several companies
        assert export_plan.to_json() == list_plan.to_json()
        books = listed.puller.mirror.read_book(), exported.puller.mirror.read_book()
        assert books[0].deals == books[1].deals and books[0].accounts == books[1].accounts
        by_id = {d.id: d for d in books[1].deals}
        assert by_id[alone].account_id == NO_ACCOUNT_PREFIX + alone
        assert by_id[several].account_id == min(emu.store.associated("deals", several, "companies"))


def test_below_the_threshold_the_list_endpoints_are_read(tmp_path: Path) -> None:
    with portal(owners=4, companies=30, deals=40) as emu:
        adapter_for(emu, tmp_path, export_threshold=40).pull()
        assert emu.counters["exports_start"] == 0
        assert emu.counters["companies_list"] == 1 and emu.counters["deals_list"] == 1


def test_a_refused_export_falls_back_to_the_lists(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with portal(_config(enabled=False), owners=4, companies=30, deals=40) as emu:
        with caplog.at_level(logging.WARNING):
            book = adapter_for(emu, tmp_path, export_threshold=10).pull()
        assert len(book.accounts) == 30 and len(book.deals) == 40
        assert emu.counters["exports_start"] == 2  # companies, then deals: both refused
        assert emu.counters["companies_list"] == 1 and emu.counters["deals_list"] == 1
        lines = [r.getMessage() for r in caplog.records if "export refused" in r.getMessage()]
        assert len(lines) == 2 and lines[0].startswith("hubspot: companies export refused")


def test_the_daily_export_limit_falls_back_to_the_lists(tmp_path: Path) -> None:
    with portal(_config(daily_limit=1), owners=4, companies=30, deals=40) as emu:
        book = adapter_for(emu, tmp_path, export_threshold=10).pull()
        assert len(book.deals) == 40
        # Companies exported (the day's one export), deals read through the list.
        assert emu.counters["exports_download"] == 1
        assert emu.counters["companies_list"] == 0 and emu.counters["deals_list"] == 1


# Found before anything is stored (task, download) or while the rows are written (the
# file): both leave the mirror as it was.
AT_DOWNLOAD = {"failed", "expired", "cut"}


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("failed", "companies export task 3 ended CANCELED"),
        ("expired", "companies export task 3: the download answered 410"),
        ("garbled", "companies export task 3: the file does not parse"),
        ("cut", "companies export task 3: the download broke off"),
        ("empty", "companies export task 3: the file holds no records"),
        ("bad_row", "companies export task 3: row 17 does not parse"),
        ("bad_zip", "companies export task 3: the file does not parse (Bad CRC-32"),
    ],
)
def test_a_failed_export_leaves_the_mirror_and_the_next_run_succeeds(
    tmp_path: Path, fault: ExportFault, says: str
) -> None:
    with portal(owners=4, companies=30, deals=40) as emu:
        first = adapter_for(emu, tmp_path, export_threshold=10, full=True)
        before = first.pull()
        assert emu.counters["exports_download"] == 2
        company = next(iter(before.accounts))
        emu.store.update("companies", company, {"name": "Renamed Ltd"})
        # Tasks 1 and 2 were the first pull's; the fault hits the next one started.
        emu.exports.settings.fault = fault
        broken = adapter_for(emu, tmp_path, export_threshold=10, full=True)
        with pytest.raises(ExportFailedError) as raised:
            broken.pull()
        assert str(raised.value).startswith(says)
        # 3 status calls for each of the first pull's tasks and this one; an expired URL
        # is asked for once more (a fresh one) before the pull gives up. A file that
        # does not parse is found once both are downloaded: the deals' 3 more.
        polls = 9 + (fault == "expired") + (0 if fault in AT_DOWNLOAD else 3)
        assert emu.counters["exports_status"] == polls
        assert "\n" not in str(raised.value)
        # Nothing stored: the mirror is the one the first pull wrote; no file left.
        kept = broken.puller.mirror.read_book()
        assert kept.accounts == before.accounts and kept.deals == before.deals
        assert not list(tmp_path.rglob("*.export")) and not list(tmp_path.rglob(".export-*"))
        again = adapter_for(emu, tmp_path, export_threshold=10, full=True).pull()
        assert again.accounts[company].name == "Renamed Ltd"
        assert len(again.deals) == 40


@pytest.mark.parametrize("fault", ["bad_row", "bad_zip", "cut", "failed"])
def test_a_bad_deals_file_keeps_the_companies_too(tmp_path: Path, fault: ExportFault) -> None:
    """The companies' file parses and is written; the deals' does not: both tables roll
    back together (one transaction), so the mirror is never new companies with old deals."""
    with portal(owners=4, companies=30, deals=40) as emu:
        first = adapter_for(emu, tmp_path, export_threshold=10, full=True)
        before = first.pull()
        stamped = first.puller.mirror.meta(FULL_PULL_AT)
        company = next(iter(before.accounts))
        emu.store.update("companies", company, {"name": "Renamed Ltd"})
        emu.exports.settings.fault, emu.exports.settings.fault_object = fault, "DEAL"
        broken = adapter_for(emu, tmp_path, export_threshold=10, full=True)
        with pytest.raises(ExportFailedError, match=r"^deals export task 4"):
            broken.pull()
        kept = broken.puller.mirror.read_book()
        assert kept.accounts == before.accounts and kept.deals == before.deals
        assert kept.accounts[company].name != "Renamed Ltd"
        # The last full pull's stamp is the first pull's: this one did not finish.
        assert broken.puller.mirror.meta(FULL_PULL_AT) == stamped is not None
        again = adapter_for(emu, tmp_path, export_threshold=10, full=True).pull()
        assert again.accounts[company].name == "Renamed Ltd" and len(again.deals) == 40


def test_an_export_file_is_private_and_the_folder_removed(tmp_path: Path) -> None:
    with portal(owners=4, companies=30, deals=40) as emu:
        adapter = adapter_for(emu, tmp_path / "pull", export_threshold=10)
        (tmp_path / "folder").mkdir()
        client = adapter.puller.client
        downloaded = export(client, "deals", ["dealstage"], tmp_path / "folder")
        assert downloaded.path.stat().st_mode & 0o777 == 0o600
        rows = list(records(downloaded))
        assert len(rows) == 40 and all(companies is not None for _, companies in rows)
        assert len(adapter.pull().deals) == 40
    # The pull's own folder (beside the mirror) is gone with its files.
    assert not list((tmp_path / "pull").rglob("*.export"))
    assert not list((tmp_path / "pull").rglob(".export-*"))


def test_a_download_url_that_expired_is_fetched_again(tmp_path: Path) -> None:
    with portal(_config(fault="expired_once"), owners=4, companies=30, deals=40) as emu:
        book = adapter_for(emu, tmp_path, export_threshold=10).pull()
        assert len(book.accounts) == 30 and len(book.deals) == 40
        # The companies task: 3 status calls, a 410, one more status call, the file.
        assert emu.counters["exports_status"] == 3 + 1 + 3
        assert emu.counters["exports_download"] == 2 + 1


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("cut", "companies export task 1: the download broke off (ProtocolError)"),
        ("bad_row", "companies export task 1: row 17 does not parse"),
    ],
)
def test_the_cli_stops_with_one_line_naming_the_task(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: ExportFault,
    says: str,
) -> None:
    # COMPLETE at the first status call: the CLI's policy really sleeps between polls.
    config = _config(fault=fault, polls_to_complete=0)
    with portal(config, owners=4, companies=30, deals=40) as emu:
        profile, env = example_profile(tmp_path, emu)
        text = profile.read_text()
        assert "export_threshold: 50000" in text
        profile.write_text(text.replace("export_threshold: 50000", "export_threshold: 10"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        command = ["plan", "-c", str(profile), "-r", str(RULES), "--as-of", "2026-06-30"]
        command += ["-o", str(tmp_path / "plan.json")]
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.splitlines() == [f"rolesync: error: {says}"]
        assert not (tmp_path / "plan.json").exists()
        assert main(command) == 0, capsys.readouterr().err
        assert emu.counters["exports_download"] == (1 if fault == "cut" else 2) + 2


class _StatusOnly:
    """Answers status calls from a list (a state HubSpot's enum does not list, too)."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.policy = self
        self.slept = 0

    def call(self, what: str, api: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.states.pop(0)

    def sleep(self, seconds: float) -> None:
        self.slept += 1


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        ([{"status": "PROCESSING"}, {"status": "FAILED"}], "deals export task 7 ended FAILED"),
        ([{"status": "CANCELED"}], "deals export task 7 ended CANCELED"),
        ([{"status": "COMPLETE"}], "deals export task 7 completed without a file"),
        ([{}], "deals export task 7 ended ?"),
    ],
)
def test_a_task_that_does_not_complete_is_one_line_naming_it(
    answers: list[dict[str, Any]], says: str
) -> None:
    client = _StatusOnly(answers)
    with pytest.raises(ExportFailedError) as raised:
        wait(cast(HubSpotClient, client), "deals", "7")
    assert str(raised.value) == says
    assert client.states == []
