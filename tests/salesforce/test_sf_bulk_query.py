"""Full pulls through Bulk API 2.0 query jobs: the same book and plan as REST pages, the
requests they cost, and each way a job can fail leaving the previous mirror whole."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sf_helpers import adapter_for, example_profile, new_emulator

from roleSync.adapters.resilience import RequestError
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.errors import ExitCode
from roleSync.plan import PlanInputs, build_plan
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set

RULES = Path(__file__).resolve().parents[2] / "rules"
AS_OF = date(2026, 6, 30)
PAGE = 128  # records a results page: 300 accounts are 3 pages, 700 opportunities 6


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    """12 users, 300 accounts, 700 opportunities, contacts and tasks, some deleted."""
    emu = new_emulator(bulk_query_polls=2)
    emu.seed(users=12, accounts=300, opportunities=700, contacts=90, tasks=60, seed=5, as_of=AS_OF)
    for sobject, count in (("Account", 7), ("Opportunity", 11), ("Contact", 3)):
        for record in emu.store.all(sobject)[:count]:
            emu.store.delete(sobject, str(record["Id"]))
    with emu:
        yield emu


def _adapter(
    org: SalesforceEmulator, folder: Path, threshold: int, *, full: bool = False
) -> SalesforceAdapter:
    adapter = adapter_for(
        org,
        folder,
        bulk_query_threshold=threshold,
        bulk_query_page_size=PAGE,
        pull={"contacts": True, "tasks": True},
    )
    adapter.full = full
    return adapter


def _plan_json(adapter: SalesforceAdapter) -> str:
    book = adapter.pull()
    rules = load_rule_set([RULES])
    inputs = PlanInputs(
        "sf-test",
        CompiledRoles(rules.roles),
        CompiledRouting(rules.routing),
        rules.digest,
        AS_OF,
    )
    return build_plan(book, inputs).to_json()


def _mirror_rows(folder: Path) -> dict[str, list[tuple[object, ...]]]:
    paths = list(folder.rglob("mirror.db"))
    assert len(paths) == 1
    with sqlite3.connect(paths[0]) as conn:
        tables = ("owners", "accounts", "deals", "contacts", "tasks", "cursors")
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_a_bulk_full_pull_builds_the_same_book_and_plan_as_rest_pages(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    rest_plan = _plan_json(_adapter(org, tmp_path / "rest", 0))
    assert org.counters["query_job_create"] == 0
    bulk_plan = _plan_json(_adapter(org, tmp_path / "bulk", 1))
    # Every object went through a job: users, accounts, deals, contacts, tasks.
    assert org.counters["query_job_create"] == 5
    assert bulk_plan == rest_plan
    assert json.loads(rest_plan)["changes"]  # a plan that moves something
    bulk, rest = _mirror_rows(tmp_path / "bulk"), _mirror_rows(tmp_path / "rest")
    # Cursors may differ: queryAll saw the deletions, whose stamps are the latest.
    assert {k: v for k, v in bulk.items() if k != "cursors"} == {
        k: v for k, v in rest.items() if k != "cursors"
    }
    assert bulk["cursors"] != rest["cursors"]


def test_a_bulk_pull_costs_one_page_describe_create_polls_and_result_pages(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = _adapter(org, tmp_path, 250)  # accounts (293 live) and deals (689) only
    book = adapter.pull()
    live_accounts, live_deals = 300 - 7, 700 - 11
    # queryAll: the deleted records travel too (and are left out of the mirror).
    pages = math.ceil(300 / PAGE) + math.ceil(700 / PAGE)
    assert org.counters["query_job_create"] == 2
    assert org.counters["query_job_poll"] == 2 * 3  # 2 InProgress polls, then JobComplete
    assert org.counters["query_job_results"] == pages == 3 + 6
    assert org.counters["describe"] == 2
    # The first REST page of each object said how many records it has: 5 queries,
    # and the REST pull of the 3 small ones needed no second page.
    assert org.counters["query"] == 5
    assert org.counters["query_more"] == 0
    assert (len(book.accounts), len(book.deals)) == (live_accounts, live_deals)


def _pulled_then_faulted(
    org: SalesforceEmulator, folder: Path, faults: SalesforceFaults
) -> tuple[SalesforceAdapter, dict[str, list[tuple[object, ...]]], str]:
    """A REST mirror, then a full bulk pull under `faults` (with one account renamed in
    between, to see that nothing of the failed pull lands): the adapter, the mirror
    before and the error's text."""
    _adapter(org, folder, 0).pull()
    before = _mirror_rows(folder)
    account = org.store.all("Account")[-1]
    org.store.update("Account", str(account["Id"]), {"Name": "Renamed Meanwhile"})
    org.set_faults(faults)
    adapter = _adapter(org, folder, 1, full=True)
    with pytest.raises(RequestError) as caught:
        adapter.pull()
    assert _mirror_rows(folder) == before  # the previous mirror, whole
    return adapter, before, str(caught.value)


def _broken(how: str) -> SalesforceFaults:
    return SalesforceFaults(query_results_broken_every=3, query_results_broken=how)


@pytest.mark.parametrize(
    ("faults", "said"),
    [
        (SalesforceFaults(query_job_outcome="failed"), "failed: InternalServerError"),
        (SalesforceFaults(query_job_outcome="aborted"), "aborted"),
        (SalesforceFaults(query_results_cut_every=2), "results download cut"),
        # Every 3rd page: Account's second, after its first 128 records went into the
        # mirror's transaction (which rolls back).
        (_broken("quoting"), "(Account): results page 2: results CSV does not parse at line 2"),
        (
            _broken("short_row"),
            "(Account): results page 2: results CSV line 2 has 12 cells where the header has 13",
        ),
        (_broken("header"), "(Account): results page 2: results header"),
        (_broken("gzip"), "(Account): results page 2: results download does not decode"),
        (
            SalesforceFaults(unavailable_every=1, only_kinds=("query_job_poll",)),
            "gave up after 6 attempts",
        ),
    ],
)
def test_a_failed_job_stops_the_pull_names_the_job_and_leaves_the_mirror(
    org: SalesforceEmulator, tmp_path: Path, faults: SalesforceFaults, said: str
) -> None:
    _, before, message = _pulled_then_faulted(org, tmp_path, faults)
    assert "\n" not in message
    assert "Bulk API 2.0 query job 750" in message
    assert said in message
    # The next run, the fault gone, starts over and succeeds.
    org.set_faults(SalesforceFaults())
    book = _adapter(org, tmp_path, 1, full=True).pull()
    assert "Renamed Meanwhile" in {a.name for a in book.accounts.values()}
    assert _mirror_rows(tmp_path) != before


def test_a_cut_download_is_caught_at_the_first_cut_page(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    org.set_faults(SalesforceFaults(query_results_cut_every=1))
    with pytest.raises(
        RequestError, match=r"query job 750\w+ \(User\): results page 1: results download cut"
    ):
        _adapter(org, tmp_path, 1).pull()
    assert org.counters["fault_cut"] == 1
    assert org.counters["query_job_results"] == 1


def test_the_cli_says_one_line_naming_the_failed_job(
    tmp_path: Path, org: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    profile, env = example_profile(tmp_path, org)
    text = profile.read_text()
    assert "bulk_query_threshold: 50000" in text
    profile.write_text(text.replace("bulk_query_threshold: 50000", "bulk_query_threshold: 1"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    org.set_faults(SalesforceFaults(query_job_outcome="failed"))
    code = main(["plan", "-c", str(profile), "-r", str(RULES), "--as-of", AS_OF.isoformat()])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Bulk API 2.0 query job 750" in lines[0]
    assert "(User) failed: InternalServerError" in lines[0]


def test_a_results_page_refused_or_dropped_before_its_body_is_sent_again(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    rest_plan = _plan_json(_adapter(org, tmp_path / "rest", 0))
    org.set_faults(
        SalesforceFaults(unavailable_every=3, drop_every=4, only_kinds=("query_job_results",))
    )
    bulk_plan = _plan_json(_adapter(org, tmp_path / "bulk", 1))
    assert bulk_plan == rest_plan
    # 1 + 3 + 6 + 1 + 1 pages, each once more when the 503 or the drop hit it.
    faults = org.counters["fault_unavailable"] + org.counters["fault_drop"]
    assert faults >= 3
    assert org.counters["query_job_results"] == 12 + faults
