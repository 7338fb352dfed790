"""Territory end to end on a local book: owner fields imported from the owners CSV,
`check -c` against the profile, a sync that keeps every account in its region and saves
one rotation per territory, and `explain` naming the members outside it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from csv_book import import_book, local_profile
from roleSync.cli import main

AS_OF = "2026-06-30"
PROFILE = local_profile(
    "regions", owner_fields="{regions: Sales Regions}", extra="guardrails: {max_share: 1.0}\n"
)
OWNERS = """\
id,name,email,Sales Regions
hank,Hank,hank@example.com,
emma,Emma,emma@example.com,EMEA
ella,Ella,ella@example.com,EMEA;UKI
amos,Amos,amos@example.com,AMER
"""
ROUTING = """\
version: 1
kind: routing
handoff: {trigger: first_won_new_business}
routes:
  - id: regional
    assign:
      pool: {role: farmer}
      match:
        - {account: account.region, owner: owner.fields.regions, op: in}
"""
REGIONS = {"c1": "EMEA", "c2": "AMER", "c3": "emea", "c4": "UKI", "c5": "APAC"}


def setup(folder: Path) -> tuple[Path, Path]:
    return import_book(folder, PROFILE, OWNERS, REGIONS, ROUTING)


def test_a_territory_sync_keeps_every_account_in_its_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = setup(tmp_path)
    assert main(["check", "-c", str(profile), str(rules)]) == 0
    capsys.readouterr()
    assert main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF]) == 0
    with sqlite3.connect(tmp_path / "book.db") as conn:
        owners = dict(conn.execute("SELECT id, owner_id FROM accounts"))
    # EMEA in turn (ella, emma, in email order), AMER to amos, UKI only ella; APAC: nobody
    assert owners == {"c1": "ella", "c2": "amos", "c3": "emma", "c4": "ella", "c5": "hank"}
    with sqlite3.connect(tmp_path / ".rolesync" / "state.db") as conn:
        rotation = dict(conn.execute("SELECT route_id, owner_id FROM rotation"))
    assert rotation == {"regional@amer": "amos", "regional@emea": "emma", "regional@uki": "ella"}
    capsys.readouterr()
    assert main(["explain", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF, "c5"]) == 0
    text = capsys.readouterr().out
    assert "ineligible: outside territory (region APAC not in EMEA, UKI)" in text
    assert "no eligible farmer among 3 (3 outside territory (region APAC))" in text


def test_check_with_the_profile_refuses_an_owner_field_it_does_not_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = setup(tmp_path)
    routing = rules / "routing.yaml"
    routing.write_text(ROUTING.replace("owner.fields.regions", "owner.fields.region"), "utf-8")
    assert main(["check", "-c", str(profile), str(rules)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{routing}:9:44: error: the connector profile maps no owner field 'region'; did you "
        "mean 'regions'? [unknown-field]"
    ]
