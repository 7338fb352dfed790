"""The Python API (roleSync.api) on the demo book: each function gives what its command
gives, failures are exceptions of the one tree (roleSync.errors), nothing is printed and
nothing exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

import roleSync
from api_book import AS_OF, demo_folder, profile_of
from roleSync import api
from roleSync.cli import main
from roleSync.errors import (
    ConfigError,
    CRMError,
    GuardrailError,
    InputError,
    LockHeldError,
    RoleSyncError,
    StorageError,
    UsageError,
)
from roleSync.profile import load_profile
from roleSync.sync.lock import RunLock
from roleSync.sync.state_open import lock_file


@pytest.fixture
def demo(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_folder(tmp_path, tmp_path_factory.getbasetemp())


def _quiet(capsys: pytest.CaptureFixture[str]) -> None:
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")


def test_plan_writes_what_the_cli_writes_and_prints_nothing(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = api.plan(profile_of(demo), demo / "rules", as_of=AS_OF, output=tmp_path / "a.json")
    _quiet(capsys)
    assert made.path == tmp_path / "a.json"
    assert made.counts.changes == len(made.plan.changes) > 0
    assert made.summary.startswith(f"plan: {made.counts.changes} ownership changes")
    args = ["plan", "-c", str(profile_of(demo)), "-r", str(demo / "rules")]
    assert main([*args, "--as-of", AS_OF.isoformat(), "-o", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    # Nothing written but the plan file: no run, no state.
    assert not (demo / ".rolesync" / "runs").exists()


def test_sync_then_apply_report_their_runs(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned = api.plan(profile_of(demo), demo / "rules", as_of=AS_OF, output=tmp_path / "p.json")
    run = api.apply(tmp_path / "p.json", profile_of(demo), demo / "rules")
    _quiet(capsys)
    assert run.outcome is api.RunOutcome.OK and run.ok and run.exit_code == 0
    assert run.mode == "apply" and run.plan is None
    assert run.counts.applied == planned.counts.changes == len(run.report.applied) > 0
    assert json.loads(run.report_path.read_text())["run_id"] == run.run_id
    assert run.plan_path.parent.name == run.run_id and run.plan_path.is_file()
    # The book moved: a sync now finds nothing left to move, and says so in its counts.
    again = api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)
    _quiet(capsys)
    assert again.mode == "sync" and again.plan is not None
    assert (again.counts.planned, again.counts.applied) == (0, 0)
    assert again.run_id != run.run_id and again.plan_path.exists()


def test_apply_takes_a_plan_in_memory(demo: Path) -> None:
    planned = api.plan(profile_of(demo), demo / "rules", as_of=AS_OF)
    assert planned.path is None
    run = api.apply(planned.plan, load_profile(profile_of(demo)), [demo / "rules"])
    assert run.ok and run.counts.applied == planned.counts.changes
    # Kept by the run, as a sync keeps its plan: the run's history holds what it applied.
    assert run.plan_path.parent.name == run.run_id
    assert json.loads(run.plan_path.read_text())["rules_digest"] == planned.plan.rules_digest


def test_apply_refuses_a_plan_made_under_other_rules(demo: Path, tmp_path: Path) -> None:
    planned = api.plan(profile_of(demo), demo / "rules", as_of=AS_OF)
    other = tmp_path / "other"
    other.mkdir()
    for source in (demo / "rules").glob("*.yaml"):
        (other / source.name).write_text(source.read_text() + "# changed\n")
    with pytest.raises(InputError, match=r"^plan: error: the plan was made under rules"):
        api.apply(planned.plan, profile_of(demo), other)
    assert api.apply(planned.plan, profile_of(demo), other, allow_stale_rules=True).ok


def test_fail_on_makes_a_run_stuck_with_the_alert_line(demo: Path) -> None:
    first = api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)
    codes = sorted(first.report.skipped_by_reason)
    assert codes, "the demo book skips some handoffs"
    stuck = api.sync(profile_of(demo), demo / "rules", as_of=AS_OF, fail_on=codes[:1])
    assert stuck.outcome is api.RunOutcome.STUCK and stuck.exit_code == 5
    assert stuck.stuck is not None and stuck.stuck.startswith("stuck handoffs: ")
    with pytest.raises(UsageError, match="unknown skip code 'no-such'"):
        api.sync(profile_of(demo), demo / "rules", as_of=AS_OF, fail_on=["no-such"])


def test_explain_from_the_book_and_from_a_run(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)
    moved = run.report.applied[0]
    now = api.explain(moved.account_id, profile_of(demo), demo / "rules", as_of=AS_OF)
    then = api.explain(moved.account_id, profile_of(demo), run="latest")
    _quiet(capsys)
    assert now.run_id is None and moved.account_id in now.text
    assert then.run_id == run.run_id and moved.account_id in then.text
    with pytest.raises(ConfigError, match="no account or owner 'nobody-at-all'"):
        api.explain("nobody-at-all", profile_of(demo), demo / "rules", as_of=AS_OF)
    with pytest.raises(UsageError):
        api.explain(moved.account_id, profile_of(demo), run="latest", as_of=AS_OF)


def test_report_writes_each_format(demo: Path, tmp_path: Path) -> None:
    run = api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)
    as_json = api.report(profile_of(demo))
    assert as_json.run_id == run.run_id and as_json.path.parent.name == run.run_id
    assert json.loads(as_json.path.read_text())["run"]["run_id"] == run.run_id
    assert len(as_json.data.handoffs) == run.counts.applied
    html = api.report(profile_of(demo), run.run_id, format="html", output=tmp_path / "r.html")
    assert html.path == tmp_path / "r.html" and "<html" in html.path.read_text()
    csv = api.report(profile_of(demo), format="csv", output=tmp_path / "tables")
    assert sorted(p.suffix for p in csv.path.iterdir()) and csv.path.is_dir()
    with pytest.raises(ConfigError, match="no run 'nope'"):
        api.report(profile_of(demo), "nope")


def test_diff_outcomes(demo: Path, tmp_path: Path) -> None:
    same = api.diff(profile_of(demo), demo / "rules", base_rules=demo / "rules", as_of=AS_OF)
    assert same.outcome is api.DiffOutcome.UNCHANGED and same.exit_code == 0
    changed = tmp_path / "rules"
    changed.mkdir()
    for source in (demo / "rules").glob("*.yaml"):
        text = source.read_text()
        if source.name == "roles.yaml":  # who counts as a hunter: a bigger new-business share
            assert "value: 0.6" in text
            text = text.replace("value: 0.6", "value: 0.9", 1)
        (changed / source.name).write_text(text)
    moved = api.diff(
        profile_of(demo),
        changed,
        base_rules=demo / "rules",
        as_of=AS_OF,
        output=tmp_path / "d.md",
        format="markdown",
    )
    assert moved.outcome in (api.DiffOutcome.CHANGES, api.DiffOutcome.GUARDRAIL)
    assert moved.diff.changed and moved.path == tmp_path / "d.md"
    assert moved.path.read_text() == moved.as_markdown().rstrip("\n") + "\n"
    with pytest.raises(UsageError, match="one of base_rules and base_ref"):
        api.diff(profile_of(demo), demo / "rules", as_of=AS_OF)


# -- errors: one tree --------------------------------------------------------------


def test_bad_input_is_a_config_error_with_the_position(demo: Path) -> None:
    with pytest.raises(ConfigError):
        api.plan(demo / "missing.yaml", demo / "rules", as_of=AS_OF)
    (demo / "rules" / "roles.yaml").write_text("version: 1\nkind: roles\nwindow_days: -5\n")
    with pytest.raises(InputError) as caught:
        api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)
    assert caught.value.diagnostics and all(
        d.path.endswith("roles.yaml") for d in caught.value.diagnostics
    )
    assert not (demo / ".rolesync" / "runs").exists()  # nothing written


def test_a_held_lock_is_lock_held_error_naming_the_holder(demo: Path) -> None:
    profile = load_profile(profile_of(demo))
    with RunLock(lock_file(profile), profile.name) as lock:
        lock.acquire(datetime(2026, 6, 30, 7, 0, tzinfo=UTC))
        with pytest.raises(LockHeldError) as caught:
            api.sync(profile, demo / "rules", as_of=AS_OF)
    assert caught.value.holder["pid"] == os.getpid()
    assert caught.value.exit_code == 4 and f"pid {os.getpid()}" in str(caught.value)


def test_a_guardrail_stop_is_guardrail_error_with_its_run(demo: Path) -> None:
    profile = profile_of(demo)
    profile.write_text(profile.read_text() + "guardrails: {max_changes: 1}\n")
    with pytest.raises(GuardrailError) as caught:
        api.sync(profile, demo / "rules", as_of=AS_OF)
    assert caught.value.run_id and Path(caught.value.plan_path).exists()
    assert caught.value.exit_code == 3
    assert api.sync(profile, demo / "rules", as_of=AS_OF, allow_large=True).ok


def test_a_state_folder_that_cannot_be_made_is_storage_error(demo: Path) -> None:
    (demo / ".rolesync").write_text("a file where the state folder goes\n")
    with pytest.raises(StorageError):
        api.sync(profile_of(demo), demo / "rules", as_of=AS_OF)


def test_the_tree_and_the_exports() -> None:
    from roleSync.adapters.resilience.errors import AuthenticationError, RequestError
    from roleSync.adapters.salesforce.auth import SalesforceConfigError
    from roleSync.health.findings import BookHealthError
    from roleSync.report.runs import RunNotFoundError
    from roleSync.sync.store import StateError

    for leaf, category in [
        (RequestError, CRMError),
        (AuthenticationError, CRMError),
        (SalesforceConfigError, ConfigError),
        (BookHealthError, ConfigError),
        (RunNotFoundError, ConfigError),
        (StateError, StorageError),
        (UsageError, ConfigError),
        (LockHeldError, RoleSyncError),
        (GuardrailError, RoleSyncError),
    ]:
        assert issubclass(leaf, category), leaf
    # roleSync's lazy export list repeats the api's types: it cannot import the api to
    # read them (`rolesync --version` would load it), and strict mypy only sees a literal
    # __all__. This keeps the two lists in step both ways.
    functions = {"apply", "diff", "explain", "plan", "report", "sync"}
    assert set(roleSync.__all__) == set(api.__all__) - functions | {"__version__", "api"}
    for name in set(api.__all__) - functions:
        assert getattr(roleSync, name) is getattr(api, name), name
    assert roleSync.api is api and roleSync.RoleSyncError is RoleSyncError


def test_nothing_printed_without_logging_setup_unless_echo(demo: Path) -> None:
    """In a fresh interpreter (no handler anywhere, unlike under pytest): a run that logs
    warnings (a guardrail passed with allow_large) prints nothing; echo=True shows its
    progress on stderr."""
    profile = profile_of(demo)
    profile.write_text(profile.read_text() + "guardrails: {max_changes: 1}\n")
    code = textwrap.dedent(
        f"""
        import sys
        from datetime import date
        from roleSync import api
        run = api.sync({str(profile)!r}, {str(demo / "rules")!r}, as_of=date(2026, 6, 30),
                       allow_large=True, echo=sys.argv[1] == "echo")
        assert run.ok
        """
    )
    quiet = subprocess.run(
        [sys.executable, "-c", code, "quiet"], capture_output=True, text=True, check=True
    )
    assert (quiet.stdout, quiet.stderr) == ("", "")
    loud = subprocess.run(
        [sys.executable, "-c", code, "echo"], capture_output=True, text=True, check=True
    )
    assert loud.stdout == "" and "pulled" in loud.stderr


def test_disk_and_sqlite_failures_that_escape_are_storage_errors() -> None:
    """What cli.main's last line of defence prints as one line, the API raises as a
    StorageError (cause chained)."""
    import sqlite3

    from roleSync.api.guard import api_call

    @api_call
    def disk_full() -> None:
        raise OSError(28, "No space left on device", "/state/state.db")

    @api_call
    def damaged() -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    with pytest.raises(StorageError, match=r"^/state/state\.db: ") as caught:
        disk_full()
    assert isinstance(caught.value.__cause__, OSError)
    with pytest.raises(StorageError, match=r"^SQLite: database disk image is malformed$"):
        damaged()
