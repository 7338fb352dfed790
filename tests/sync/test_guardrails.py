"""Guardrails: a plan above max_changes or max_share is saved, nothing is written, exit 3;
--allow-large applies it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.profile import GuardrailsSection, Profile, load_profile
from roleSync.sync.guardrails import exceeded

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")


def test_a_rule_edit_moving_60_percent_of_the_book_stops_at_the_guardrail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 100 accounts: 60 with a hunter, 40 with farmers. Hunters keep theirs at first...
    fixture = make_fixture(
        tmp_path, hunters=1, accounts_per_hunter=60, farmer_accounts=10, guardrails=None
    )
    fixture.set_routing(from_roles="unclassified")
    assert main(fixture.cli("sync")) == 0
    # ...until an edit hands off every hunter's customers: 60% of the book.
    fixture.set_routing(from_roles="hunter")
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 3
    err = capsys.readouterr().err
    assert "guardrail: 60 of the book's 100 accounts (60%) exceed max_share 0.2 (20%)" in err
    assert "nothing written" in err
    assert fixture.book.read_bytes() == before  # not a byte of the book changed
    ((run_id, status, planned, applied, plan_path),) = fixture.query(
        "SELECT id, status, planned, applied, plan_path FROM runs WHERE planned > 0"
    )
    assert (status, planned, applied) == ("stopped-by-guardrail", 60, 0)
    assert plan_path == str(fixture.state.parent / "runs" / run_id / "plan.json")
    assert len(json.loads(Path(plan_path).read_text())["changes"]) == 60
    assert fixture.query("SELECT count(*) FROM audit WHERE run_id = ?", run_id) == [(0,)]

    # A person read the saved plan and agrees: applied as it was saved.
    assert main([*fixture.cli("apply"), plan_path, "--allow-large"]) == 0
    owners = fixture.owners()
    assert sum(1 for a, o in owners.items() if a.startswith("a-") and o != "h-0") == 60


def test_max_changes_is_absolute_and_applies_to_saved_plans_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(
        tmp_path, hunters=1, accounts_per_hunter=6, guardrails={"max_changes": 5, "max_share": 1}
    )
    plan = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan)]) == 0
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan)]) == 3
    assert "6 ownership changes exceed max_changes 5" in capsys.readouterr().err
    assert fixture.book.read_bytes() == before
    assert main(fixture.cli("sync", "--allow-large")) == 0
    assert fixture.query("SELECT status FROM runs ORDER BY started, rowid") == [
        ("stopped-by-guardrail",),
        ("ok",),
    ]


def test_the_limits() -> None:
    limits = GuardrailsSection()
    assert (limits.max_changes, limits.max_share) == (500, 0.2)
    assert exceeded(500, 2500, limits) == []
    assert exceeded(501, 10_000, limits) == ["501 ownership changes exceed max_changes 500"]
    assert exceeded(21, 100, limits) == [
        "21 of the book's 100 accounts (21%) exceed max_share 0.2 (20%)"
    ]
    assert exceeded(3, 0, limits) == []  # an empty book has no share


def test_guardrails_in_a_profile_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nkind: local\nname: p\nguardrails: {max_share: 1.5, max: 3}\n")
    with pytest.raises(InputError) as bad:
        load_profile(path)
    assert {d.line for d in bad.value.diagnostics} == {4}
    profile = Profile.model_validate(
        {"version": 1, "kind": "local", "name": "p", "guardrails": {"max_changes": 10}}
    )
    assert profile.guardrails.max_changes == 10 and profile.guardrails.max_share == 0.2
