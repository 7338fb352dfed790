"""The command line end to end on the embedded demo book: demo, plan, apply, sync, check."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from roleSync.adapters.local import LocalAdapter
from roleSync.cli import main
from roleSync.demo_book import generate_demo_book
from roleSync.profile import load_profile

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    capture = tmp_path_factory.mktemp("out") / "stdout.txt"
    with capture.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "roleSync", "demo", "--dir", str(folder), "--as-of", AS_OF],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    return folder, capture.read_text()


@pytest.fixture
def demo(demo_run: tuple[Path, str], tmp_path: Path) -> Path:
    """A private copy of the synced demo folder, free to break."""
    copy = tmp_path / "demo"
    shutil.copytree(demo_run[0], copy)
    return copy


def reassign(demo: Path, owner_id: str, *account_ids: str) -> None:
    """What a human does in the CRM: give accounts to someone by hand."""
    con = sqlite3.connect(demo / "demo.db")
    with con:
        con.executemany(
            "UPDATE accounts SET owner_id = ? WHERE id = ? AND locked = 0",
            [(owner_id, a) for a in account_ids],
        )
    con.close()


def plan_to_file(demo: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Plan the demo book into demo/plan.json; (profile args, the planned changes)."""
    profile = ["-c", str(demo / "demo.yaml")]
    plan_file = demo / "plan.json"
    args = ["plan", *profile, "-r", str(demo / "rules"), "--as-of", AS_OF, "-o", str(plan_file)]
    assert main(args) == 0
    changes: list[dict[str, Any]] = json.loads(plan_file.read_text())["changes"]
    assert changes, "the reassigned accounts should produce handoffs"
    return profile, changes


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def only_report(folder: Path) -> dict[str, Any]:
    """The report of the folder's one run (the demo's)."""
    (report,) = (folder / ".rolesync" / "runs").glob("*/report.json")
    return json.loads(report.read_text())  # type: ignore[no-any-return]


def printed_report(stdout: str) -> dict[str, Any]:
    """The report whose path a command printed (run ids sort by second, not finer)."""
    match = re.search(r"^report: (.+)$", stdout, flags=re.M)
    assert match, stdout
    return json.loads(Path(match.group(1)).read_text())  # type: ignore[no-any-return]


def test_demo_prints_roles_handoffs_and_report(demo_run: tuple[Path, str]) -> None:
    folder, stdout = demo_run
    # Titles lie, and the demo shows it with the figures that decided.
    assert re.search(
        r"\(Account Executive\) works as a farmer: farmer-by-deal-mix: "
        r"new_business_share=0\.\d+, won_deals=\d+",
        stdout,
    )
    assert re.search(
        r"\(Account Manager\) works as a hunter: hunter-by-deal-mix: "
        r"new_business_share=0\.\d+, new_business_won_count=\d+",
        stdout,
    )
    handoffs = int(re.search(r"Handoffs: (\d+) post-sale accounts", stdout).group(1))  # type: ignore[union-attr]
    report = only_report(folder)
    assert isinstance(report["applied"], list)
    assert handoffs == len(report["applied"]) > 50
    assert f"Run report (JSON): {folder}" in stdout


def test_demo_handoffs_are_in_the_book_and_respect_every_rule(
    demo_run: tuple[Path, str],
) -> None:
    folder = demo_run[0]
    report = only_report(folder)
    plan = json.loads(Path(str(report["plan_path"])).read_text())
    roles = {o["owner_id"]: (o["role"], o["active"]) for o in plan["owners"]}
    owners, accounts, _ = generate_demo_book(date.fromisoformat(AS_OF), 2026)
    before = {a.id: a for a in accounts}
    with LocalAdapter(load_profile(folder / "demo.yaml")) as adapter:
        after = adapter.pull()
    moved = {a for a in before if before[a].owner_id != after.accounts[a].owner_id}
    applied = {c["account_id"]: c for c in report["applied"]}
    assert moved == set(applied)
    for account_id, change in applied.items():
        assert after.accounts[account_id].owner_id == change["to_owner_id"]
        assert roles[change["to_owner_id"]] == ("farmer", True)
        assert not before[account_id].locked
        assert roles[before[account_id].owner_id or ""][0] != "farmer"
    # Capacity: nobody ends above the shipped cap of 400 accounts through a handoff.
    counts: dict[str, int] = {}
    for account in after.accounts.values():
        counts[account.owner_id or ""] = counts.get(account.owner_id or "", 0) + 1
    assert all(counts[c["to_owner_id"]] <= 400 for c in applied.values())
    # Metrics were written back and are what the plan computed.
    hannah = next(
        o for o in plan["owners"] if o["title"] == "Account Executive" and o["role"] == "farmer"
    )
    recorded = after.owners[hannah["owner_id"]].recorded
    assert recorded["role"] == "farmer"
    assert recorded["new_business_share"] == hannah["metrics"]["new_business_share"]
    assert len(owners) == len(after.owners)


def test_plan_twice_gives_identical_bytes_and_writes_nothing(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = demo / "demo.db"
    before = digest(book)
    args = ["plan", "-c", str(demo / "demo.yaml"), "-r", str(demo / "rules"), "--as-of", AS_OF]
    assert main([*args, "-o", str(demo / "p1.json")]) == 0
    assert main([*args, "-o", str(demo / "p2.json")]) == 0
    assert (demo / "p1.json").read_bytes() == (demo / "p2.json").read_bytes()
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().out.encode() == (demo / "p1.json").read_bytes()
    assert digest(book) == before


def test_broken_rule_file_is_one_positioned_line_exit_1_and_book_untouched(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = demo / "rules" / "routing.yaml"
    routing.write_text(routing.read_text().replace("least_loaded", "least_loadded"))
    lines = routing.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "strategy: least_loadded" in text)
    book, runs = demo / "demo.db", sorted((demo / ".rolesync" / "runs").iterdir())
    before = digest(book)
    code = main(["sync", "-c", str(demo / "demo.yaml"), "-r", str(demo / "rules")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert re.fullmatch(
        rf"{re.escape(str(routing))}:{line}:17: error: unknown strategy 'least_loadded'; "
        r"did you mean 'least_loaded'\? \[unknown-value\]",
        err[0],
    )
    assert digest(book) == before
    assert sorted((demo / ".rolesync" / "runs").iterdir()) == runs


def test_apply_writes_a_plan_and_reapplying_it_changes_nothing(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A hunter is handed three customers by hand: a fresh handoff backlog.
    reassign(demo, "u-02", "acc-0001", "acc-0002", "acc-0003")
    profile, planned = plan_to_file(demo)
    plan_file = demo / "plan.json"
    assert main(["apply", str(plan_file), *profile, "-r", str(demo / "rules")]) == 0
    first = capsys.readouterr().out
    assert f"applied {len(planned)}, already applied 0, conflicts 0, failed 0" in first
    assert main(["apply", str(plan_file), *profile, "-r", str(demo / "rules")]) == 0
    second = capsys.readouterr().out
    assert f"applied 0, already applied {len(planned)}, conflicts 0, failed 0" in second


def test_apply_skips_accounts_a_human_changed_after_the_plan(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reassign(demo, "u-02", "acc-0001", "acc-0002")
    profile, changes = plan_to_file(demo)
    plan_file = demo / "plan.json"
    target = changes[0]["account_id"]
    reassign(demo, "u-01", target)  # a human reassigns it between plan and apply
    capsys.readouterr()
    assert main(["apply", str(plan_file), *profile, "-r", str(demo / "rules")]) == 0
    stdout = capsys.readouterr().out
    assert "conflicts 1" in stdout
    report = printed_report(stdout)
    assert report["conflicts"] == [
        {"account_id": target, "planned_from": changes[0]["from_owner_id"], "found": "u-01"}
    ]
    with LocalAdapter(load_profile(demo / "demo.yaml")) as adapter:
        assert adapter.pull().accounts[target].owner_id == "u-01"


def test_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    assert main(["check", str(root / "rules"), str(root / "connectors")]) == 0
    bad = tmp_path / "roles.yaml"
    bad.write_text("version: 1\nkind: roles\nclassify: []\nwindow_days: -1\n")
    capsys.readouterr()
    assert main(["check", str(bad)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": error: ")[0] for line in lines] == [f"{bad}:3:11", f"{bad}:4:14"]
    # `check -c PROFILE` alone is allowed (the profile and its book's health); nothing at
    # all is a usage error.
    assert main(["check"]) == 2
    assert "check needs a PATH, or a profile with -c" in capsys.readouterr().err


def test_plan_without_a_book_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("version: 1\nkind: local\nname: nobook\nlocal: {path: missing.db}\n")
    root = Path(__file__).resolve().parents[1]
    assert main(["plan", "-c", str(profile), "-r", str(root / "rules")]) == 1
    err = capsys.readouterr().err
    assert "no local book at" in err and "Traceback" not in err
    assert not (tmp_path / "missing.db").exists()
