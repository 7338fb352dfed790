"""`rolesync demo`: a realistic synthetic book in a local SQLite file, synced end to end."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from roleSync.adapters.local_store import write_book
from roleSync.demo_book import generate_demo_book
from roleSync.demo_related import generate_demo_related
from roleSync.plan import Plan
from roleSync.profile import load_profile
from roleSync.report.progress import NO_PROGRESS, Progress
from roleSync.resources import shipped_rules_dir
from roleSync.sync.report import RunReport
from roleSync.sync.runner import Clock, PlanRequest, sync, utc_now
from roleSync.sync.state_open import reset_state

PROFILE_NAME = "demo.yaml"
PROFILE_TEXT = """\
# Connector profile of the roleSync demo: an embedded local book, no CRM.
version: 1
kind: local
name: demo
local:
  path: demo.db
state_dir: .rolesync
import:
  accounts:
    fields: {industry: industry, employees: employees, lead_source: lead_source}
"""


@dataclass(frozen=True, slots=True)
class DemoResult:
    folder: Path
    plan: Plan
    report: RunReport


def prepare(folder: Path, as_of: date, seed: int) -> tuple[Path, Path]:
    """Write the book fresh; keep rule files and profile the user may have edited."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "rules"
    if not rules.exists():
        rules.mkdir()
        for source in sorted(shipped_rules_dir().glob("*.yaml")):
            shutil.copyfile(source, rules / source.name)
    profile_path = folder / PROFILE_NAME
    if not profile_path.exists():
        profile_path.write_text(PROFILE_TEXT, encoding="utf-8")
    profile = load_profile(profile_path)
    owners, accounts, deals = generate_demo_book(as_of, seed)
    contacts, tasks = generate_demo_related(accounts, as_of, seed)
    write_book(profile.book_path, owners, accounts, deals, contacts=contacts, tasks=tasks)
    # A fresh book starts a fresh history (rotation, audit log), so the demo gives the
    # same result every time and the last demo's handoffs do not read as manual changes.
    reset_state(profile)
    return profile_path, rules


def run_demo(
    folder: Path,
    as_of: date,
    seed: int = 2026,
    clock: Clock = utc_now,
    progress: Progress = NO_PROGRESS,
) -> DemoResult:
    profile_path, rules = prepare(folder, as_of, seed)
    request = PlanRequest(load_profile(profile_path), [rules], as_of)
    plan, report = sync(request, clock=clock, progress=progress)
    return DemoResult(folder, plan, report)
