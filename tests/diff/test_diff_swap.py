"""`rolesync diff` on the demo book: the issue's hunter/farmer swap is listed in full and
stopped by the guardrails; the same rules against themselves change nothing.

What the diff must list is worked out independently: each rule version is planned on
its own with `rolesync plan`, and the two plan files are compared here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from diff_helpers import diff_json, swap_roles, write_rules

from roleSync.cli import main
from roleSync.demo import prepare

AS_OF = "2026-06-30"


@dataclass(frozen=True)
class Demo:
    profile: Path
    rules: Path
    swapped: Path
    folder: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("demo")
    profile, rules = prepare(folder, date.fromisoformat(AS_OF), 2026)
    swapped = write_rules(
        folder / "swapped",
        roles=swap_roles((rules / "roles.yaml").read_text("utf-8")),
        routing=(rules / "routing.yaml").read_text("utf-8"),
    )
    return Demo(profile, rules, swapped, folder)


def plan_of(demo: Demo, rules: Path, name: str) -> dict[str, Any]:
    out = demo.folder / f"{name}.json"
    args = ["plan", "-c", str(demo.profile), "-r", str(rules), "--as-of", AS_OF, "-o", str(out)]
    assert main(args) == 0
    data: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return data


def fates(plan: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Account id -> ("moves", new owner) or ("skipped", code), as a plan file says."""
    found = {c["account_id"]: ("moves", c["to_owner_id"]) for c in plan["changes"]}
    found.update({s["account_id"]: ("skipped", s["code"]) for s in plan["skipped"]})
    return found


def test_the_swap_lists_every_flipped_owner_and_moved_account_and_is_stopped(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = plan_of(demo, demo.rules, "base"), plan_of(demo, demo.swapped, "new")
    before = {o["owner_id"]: o["role"] for o in base["owners"]}
    flipped = {o["owner_id"] for o in new["owners"] if before[o["owner_id"]] != o["role"]}
    # The swap turns every hunter into a farmer and back: all but the unclassified flip.
    assert flipped == {o for o, role in before.items() if role in ("hunter", "farmer")}
    assert len(flipped) > 10  # above the default max_role_changes
    was, now = fates(base), fates(new)
    moved = {a for a in was.keys() | now.keys() if was.get(a) != now.get(a)}

    args = ["-c", str(demo.profile), "-r", str(demo.swapped), "--base-rules", str(demo.rules)]
    data = diff_json(capsys, [*args, "--as-of", AS_OF], expect=3)

    assert {r["owner_id"] for r in data["roles"]} == flipped
    for change in data["roles"]:
        assert change["base"]["role"] == before[change["owner_id"]]
        assert (
            change["new"]["role"]
            == {"hunter": "farmer", "farmer": "hunter"}[change["base"]["role"]]
        )
        # The figures that decided it: the metrics the classify rules compare.
        assert set(change["figures"]) == {
            "new_business_share",
            "new_business_won_count",
            "won_deals",
        }
    assert {a["account_id"] for a in data["accounts"]} == moved
    for account in data["accounts"]:
        side = account["new"]
        expected = now.get(account["account_id"], ("stays", None))
        assert (side["fate"], side["to_owner_id"] or side["code"] or None) == expected
    assert data["blast_radius"] == {
        "accounts": len(moved),
        "book_accounts": base["summary"]["accounts"],
        "share": round(len(moved) / base["summary"]["accounts"], 4),
    }
    assert data["routes"] == {
        route: {
            "base": sum(c["rule_id"] == route for c in base["changes"]),
            "new": sum(c["rule_id"] == route for c in new["changes"]),
        }
        for route in {c["rule_id"] for c in base["changes"] + new["changes"]}
    }
    guard = data["guardrails"]
    assert guard["verdict"] == "stop" and data["exit_code"] == 3 and data["changed"]
    assert any(f"flip the role of {len(flipped)} owners" in r for r in guard["reasons"])
    assert any("exceed max_share" in r for r in guard["reasons"])  # 1/3 of the book moves
    flips = next(c for c in guard["checks"] if c["guardrail"] == "role_flips_by_change")
    assert flips == {"guardrail": "role_flips_by_change", "limit": 10, "base": 0,
                     "new": len(flipped), "exceeded": True}  # fmt: skip


def test_the_swap_in_text_names_every_owner_and_says_it_would_be_stopped(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["diff", "-c", str(demo.profile), "-r", str(demo.swapped)]
    assert main([*args, "--base-rules", str(demo.rules), "--as-of", AS_OF]) == 3
    text = capsys.readouterr().out
    assert "the guardrails would STOP a run under the new rules" in text
    base = plan_of(demo, demo.rules, "names")
    for owner in base["owners"]:
        if owner["role"] != "unclassified":
            assert owner["name"] in text
    assert "Guardrails: a run under the new rules would be STOPPED:" in text


def test_the_same_rules_change_nothing_and_exit_0(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = write_rules(
        demo.folder / "copy",
        **{p.stem: p.read_text("utf-8") for p in sorted(demo.rules.glob("*.yaml"))},
    )
    args = ["diff", "-c", str(demo.profile), "-r", str(copy), "--base-rules", str(demo.rules)]
    assert main([*args, "--as-of", AS_OF]) == 0
    text = capsys.readouterr().out
    assert "nothing changes: the new rules plan exactly what the base rules plan" in text
    assert "Owners whose role changes" not in text
    data = diff_json(capsys, [*args[1:], "--as-of", AS_OF], expect=0)
    assert (data["changed"], data["roles"], data["accounts"]) == (False, [], [])
    assert all(p["base"] == p["new"] for p in data["routes"].values())
    assert data["notes"] == ["the base and new rule files are the same bytes (same digest)"]


def test_markdown_says_the_swap_would_be_stopped_and_caps_its_tables(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    out = demo.folder / "diff.md"
    args = ["diff", "-c", str(demo.profile), "-r", str(demo.swapped), "--as-of", AS_OF]
    assert (
        main([*args, "--base-rules", str(demo.rules), "--format", "markdown", "-o", str(out)]) == 3
    )
    assert "diff written to" in capsys.readouterr().err
    markdown = out.read_text("utf-8")
    assert "⛔ **The guardrails would stop this change.**" in markdown
    accounts = diff_json(capsys, [*args[1:], "--base-rules", str(demo.rules)], expect=3)["accounts"]
    rows = [line for line in markdown.splitlines() if line.startswith("| `acc-")]
    assert len(rows) == 50
    assert f"…and {len(accounts) - 50} more" in markdown
    assert len(markdown) < 65_536  # fits one pull-request comment


def test_versions_reading_different_windows_plan_as_plan_does(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    """One pull serves both windows (the book keeps every deal then): each version's
    side of the diff is what `rolesync plan` makes of it alone."""
    roles = (demo.rules / "roles.yaml").read_text("utf-8")
    assert "window_days: 365" in roles
    short = write_rules(
        demo.folder / "short",
        roles=roles.replace("window_days: 365", "window_days: 180"),
        routing=(demo.rules / "routing.yaml").read_text("utf-8"),
    )
    base, new = fates(plan_of(demo, demo.rules, "long")), fates(plan_of(demo, short, "short"))
    args = ["-c", str(demo.profile), "-r", str(short), "--base-rules", str(demo.rules)]
    data = diff_json(capsys, [*args, "--as-of", AS_OF], expect=6)
    assert data["accounts"]  # the shorter window changes something
    assert {a["account_id"] for a in data["accounts"]} == {
        a for a in base.keys() | new.keys() if base.get(a) != new.get(a)
    }
    for account in data["accounts"]:
        for side, plan in (("base", base), ("new", new)):
            got = account[side]
            expected = plan.get(account["account_id"], ("stays", None))
            assert (got["fate"], got["to_owner_id"] or got["code"] or None) == expected
    assert data["notes"] == [
        "the versions read different windows (365 and 180 days): figures show both"
    ]
