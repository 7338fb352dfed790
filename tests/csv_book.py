"""A small local book made the way users make one: CSV exports imported with `rolesync
import` under a profile, one hunter (hank) whose won customers are due for handoff, and
rule files written beside it. Shared by the end-to-end tests of routing features."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from roleSync.cli import main

# hank hunts; every other owner farms.
HANK_HUNTS = """\
version: 1
kind: roles
classify:
  - id: hunter
    role: hunter
    when: {field: owner.id, op: eq, value: hank}
  - id: farmer
    role: farmer
"""

# One route: every handoff to the farmers in turn.
FARMERS_IN_TURN = """\
version: 1
kind: routing
handoff: {trigger: first_won_new_business}
routes:
  - id: farmers
    assign: {pool: {role: farmer}, strategy: round_robin}
"""


def local_profile(name: str, *, owner_fields: str = "", extra: str = "") -> str:
    """A local-book profile importing the CSV files import_book writes: no optional
    columns but `owner_fields` (a flow mapping such as `{regions: Sales Regions}`), then
    `extra` (more top-level keys, one per line)."""
    fields = f", fields: {owner_fields}" if owner_fields else ""
    return (
        f"version: 1\nkind: local\nname: {name}\nlocal: {{path: book.db}}\nimport:\n"
        f"  owners: {{title: null, active: null{fields}}}\n"
        "  accounts: {lifecycle: null, segment: null, tier: null, locked: null, created: null,\n"
        "             updated: null}\n"
        "  deals: {kind: null}\n" + extra
    )


def import_book(
    folder: Path, profile: str, owners: str, regions: dict[str, str], routing: str
) -> tuple[Path, Path]:
    """Write the profile, the rules and the CSV files into `folder` and import them: one
    account per entry of `regions` (account id -> region), owned by hank, each with one
    new-business deal he won in June 2026 (the n-th on June n). Returns (profile, rules)."""
    profile_path = folder / "profile.yaml"
    profile_path.write_text(profile, encoding="utf-8")
    rules = folder / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(HANK_HUNTS, encoding="utf-8")
    (rules / "routing.yaml").write_text(routing, encoding="utf-8")
    (folder / "owners.csv").write_text(owners, encoding="utf-8")
    accounts = ["id,name,owner_id,region"] + [f"{a},{a},hank,{r}" for a, r in regions.items()]
    (folder / "accounts.csv").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    deals = ["id,account_id,owner_id,stage,closed,won,amount,created,close_date"]
    for n, account in enumerate(regions, start=1):
        closed = date(2026, 6, n).isoformat()
        deals.append(f"d{n},{account},hank,Closed Won,true,true,1000,2026-01-01,{closed}")
    (folder / "deals.csv").write_text("\n".join(deals) + "\n", encoding="utf-8")
    files = [f"--{e}={folder / f'{e}.csv'}" for e in ("owners", "accounts", "deals")]
    assert main(["import", "-c", str(profile_path), *files]) == 0
    return profile_path, rules
