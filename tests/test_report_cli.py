"""`rolesync report` and the demo's report, end to end on the demo book."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.report.data import CSV_FILES

AS_OF = "2026-06-30"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report") / "demo"
    code, out, err = run("demo", "--dir", str(folder), "--as-of", AS_OF)
    assert code == 0, err
    return folder, out


def test_demo_ends_by_writing_the_html_report(demo: tuple[Path, str]) -> None:
    folder, out = demo
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"Run report \(HTML\): (.+)", last)
    assert match, last
    (run_dir,) = (folder / ".rolesync" / "runs").iterdir()
    assert Path(match.group(1)) == run_dir / "report.html"
    page = (run_dir / "report.html").read_text()
    assert "Who hunts, who farms" in page and "Hannah Schulz" in page


def test_report_defaults_to_the_latest_run(demo: tuple[Path, str], tmp_path: Path) -> None:
    folder = demo[0]
    target = tmp_path / "r.html"
    code, out, err = run("report", "-c", str(folder / "demo.yaml"), "-o", str(target))
    assert code == 0, err
    (run_dir,) = (folder / ".rolesync" / "runs").iterdir()
    assert out == f"report of run {run_dir.name} (html): {target}\n"
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert err == "pulled 2005 accounts for the revenue balance\n"


def test_report_as_json_on_stdout(demo: tuple[Path, str]) -> None:
    folder = demo[0]
    (run_dir,) = (folder / ".rolesync" / "runs").iterdir()
    code, out, err = run(
        "report", run_dir.name, "-c", str(folder / "demo.yaml"), "--format", "json", "-o", "-"
    )
    assert code == 0, err
    document = json.loads(out)
    applied = json.loads((run_dir / "report.json").read_text())["applied"]
    assert len(document["handoffs"]) == len(applied) > 50
    assert document["revenue_known"] is True
    farmers = {b["name"] for b in document["balance"]}
    assert "Hannah Schulz" in farmers and len(farmers) == 6
    moved = sum(b["accounts_after"] - b["accounts_before"] for b in document["balance"])
    assert moved == len(applied)


def test_report_as_csv_folder(demo: tuple[Path, str], tmp_path: Path) -> None:
    folder = demo[0]
    target = tmp_path / "csv"
    code, _, err = run(
        "report", "-c", str(folder / "demo.yaml"), "--format", "csv", "-o", str(target)
    )
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == sorted(CSV_FILES)
    owners = list(csv.DictReader((target / "owners.csv").open()))
    assert len(owners) == 13


def test_no_pull_leaves_revenue_after_unknown(demo: tuple[Path, str]) -> None:
    folder = demo[0]
    args = ["report", "-c", str(folder / "demo.yaml"), "--format", "json", "-o", "-"]
    code, out, err = run(*args, "--no-pull")
    assert code == 0 and err == ""
    assert json.loads(out)["revenue_known"] is False


@pytest.mark.parametrize("run_id", ["20990101T000000Z-000000", "../..", ".."])
def test_unknown_runs_are_refused(demo: tuple[Path, str], run_id: str) -> None:
    code, out, err = run("report", run_id, "-c", str(demo[0] / "demo.yaml"))
    assert code == 1 and out == ""
    assert err.startswith(f"rolesync: error: no run {run_id!r} under ")


def test_csv_cannot_go_to_stdout(demo: tuple[Path, str]) -> None:
    code, _, err = run("report", "-c", str(demo[0] / "demo.yaml"), "--format", "csv", "-o", "-")
    assert code == 2 and "csv is a folder of tables" in err


def test_a_profile_without_runs(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("version: 1\nkind: local\nname: empty\nlocal: {path: book.db}\n")
    code, _, err = run("report", "-c", str(profile))
    assert code == 1 and "no runs yet under" in err
