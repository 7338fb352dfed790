"""Each run archives the rule files it used, once per digest (state schema 3), and
`explain --run` explains with them rather than with today's files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.rules.archive import rule_set_from_archive
from roleSync.rules.ruleset import load_rule_set
from roleSync.sync.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from roleSync.sync.store import RunRow, StateStore


def test_a_state_file_of_schema_2_upgrades_and_keeps_its_history(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    migrate(con, MIGRATIONS[:2])  # the store as the previous roleSync left it
    con.execute(
        "INSERT INTO runs (id, profile, mode, started, status, rules_digest) "
        "VALUES ('r1', 'p', 'sync', '2026-06-01T00:00:00+00:00', 'ok', 'sha256:old')"
    )
    con.execute(
        "INSERT INTO audit (run_id, account_id, from_owner, to_owner, rule_id, rules_digest, "
        "reason, at, result) VALUES ('r1', 'a1', 'h', 'f', 'farmers', 'sha256:old', 'why', "
        "'2026-06-01T00:00:00+00:00', 'applied')"
    )
    con.close()

    with StateStore.open(path) as store:
        (run,) = store.runs("p")
        assert (run.id, run.rules_digest) == ("r1", "sha256:old")
        assert [(a.account_id, a.to_owner) for a in store.audit("r1")] == [("a1", "f")]
        # A run from before the archive: nothing archived, and nothing made up.
        assert store.archived_rules("sha256:old") is None
        store.begin_run(
            RunRow("r2", "p", "sync", "2026-06-02T00:00:00+00:00", "ok", "sha256:new"),
            [("roles.yaml", "kind: roles\n"), ("routing.yaml", "kind: routing\n")],
        )
        assert store.archived_rules("sha256:new") == [
            ("roles.yaml", "kind: roles\n"),
            ("routing.yaml", "kind: routing\n"),
        ]
    con = sqlite3.connect(path)
    assert schema_version(con) == SCHEMA_VERSION
    con.close()


def test_runs_archive_their_rules_once_per_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    rules = load_rule_set([fixture.rules])
    assert main(fixture.cli("sync")) == 0
    assert main(fixture.cli("sync")) == 0  # the same rules: the same archive row
    rows = fixture.query("SELECT digest, files FROM rules_archive")
    assert [r[0] for r in rows] == [rules.digest]
    files = json.loads(rows[0][1])
    assert [f["name"] for f in files] == ["roles.yaml", "routing.yaml"]
    assert files[0]["text"] == (fixture.rules / "roles.yaml").read_text()
    assert files[1]["text"] == (fixture.rules / "routing.yaml").read_text()

    fixture.set_routing("hunter, unclassified")  # other rules: a second copy, the first kept
    assert main(fixture.cli("sync")) == 0
    assert len(fixture.query("SELECT digest FROM rules_archive")) == 2
    assert fixture.query("SELECT count(*) FROM runs") == [(3,)]

    (latest,) = fixture.query("SELECT id FROM runs ORDER BY rowid DESC LIMIT 1")
    capsys.readouterr()
    assert main(["runs", "show", latest[0], "-c", str(fixture.profile)]) == 0
    assert "(rule files archived)" in capsys.readouterr().out
    assert main(["runs", "show", latest[0], "-c", str(fixture.profile), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rules_archived"] is True


def test_explain_run_uses_the_archived_rules_not_todays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    digest = load_rule_set([fixture.rules]).digest
    assert main(fixture.cli("sync")) == 0
    # The rules change after the run: hunters are now those at 90% new business.
    roles = fixture.rules / "roles.yaml"
    roles.write_text(roles.read_text().replace("value: 0.6", "value: 0.9"))
    explain = ["explain", "h-0", "-c", str(fixture.profile), "--run", "latest"]
    capsys.readouterr()
    assert main(explain) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first == (
        f"Rules: the run's own (roles.yaml, routing.yaml, {digest[:19]}...), archived in "
        "the state store when it ran, not today's rule files."
    )
    # The owner's trail is re-derived from the archived roles file: its 0.6 threshold.
    assert "How the roles file decided:" in out
    assert "0.6" in out.split("How the roles file decided:")[1]
    assert "0.9" not in out.split("How the roles file decided:")[1]
    # Today's files given with -r are set aside, and the explanation says so.
    assert main([*explain, "-r", str(fixture.rules)]) == 0
    assert "the rule files given with -r are not used" in capsys.readouterr().out.splitlines()[0]


def test_explain_run_of_a_run_without_archive_falls_back_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    assert main(fixture.cli("sync")) == 0
    (run_id,) = fixture.query("SELECT id FROM runs")[0]
    con = sqlite3.connect(fixture.state)
    with con:  # as a run recorded before roleSync archived rules
        con.execute("DELETE FROM rules_archive")
    con.close()
    explain = ["explain", "h-0", "-c", str(fixture.profile), "--run", run_id]
    capsys.readouterr()
    assert main(explain) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"Rules: run {run_id} has no archived rule files (it ran before roleSync kept them, "
        "or was applied with --allow-stale-rules under other rules); the recorded reasons "
        "are the trail."
    )
    assert "How the roles file decided:" not in out
    # Today's behaviour: the files given, the run's own here, re-derive the trail.
    assert main([*explain, "-r", str(fixture.rules)]) == 0
    out = capsys.readouterr().out
    assert "the files given with -r re-derive owner trails only if" in out.splitlines()[0]
    assert "How the roles file decided:" in out


def test_archived_rules_load_through_the_safe_loader_and_must_match_their_digest(
    tmp_path: Path,
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=1)
    rules = load_rule_set([fixture.rules])
    again = rule_set_from_archive(rules.files, rules.digest, "run r rules")
    assert (again.digest, again.roles, again.routing) == (rules.digest, rules.roles, rules.routing)

    tampered = [(rules.files[0][0], rules.files[0][1] + "# edited\n"), rules.files[1]]
    with pytest.raises(InputError) as caught:
        rule_set_from_archive(tampered, rules.digest, "run r rules")
    assert [d.code for d in caught.value.diagnostics] == ["archive-digest"]

    # A YAML tag that would build a Python object is refused, never run.
    hostile = [("roles.yaml", "!!python/object/apply:os.system ['true']\n"), rules.files[1]]
    with pytest.raises(InputError) as caught:
        rule_set_from_archive(hostile, rules.digest, "run r rules")
    found = {(d.path, d.line, d.code) for d in caught.value.diagnostics}
    assert ("run r rules/roles.yaml", 1, "yaml-tag") in found
