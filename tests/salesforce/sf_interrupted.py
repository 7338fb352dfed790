"""What the interruption tests against the Salesforce emulator share (kill -9 in
test_sf_kill9, SIGTERM and kill -9 in test_sf_signals): a profile with small batches,
a plan file of `count` changes and the `rolesync apply` command that writes it, run
again and again as a child process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sf_helpers import adapter_for, changes_for, new_emulator, writes_of

from builders import rules_for_any_move
from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.plan import PLAN_FORMAT, OwnershipChange, Plan

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def org_of(accounts: int, opportunities: int, seed: int) -> Iterator[SalesforceEmulator]:
    emu = new_emulator()
    emu.seed(users=20, accounts=accounts, opportunities=opportunities, seed=seed)
    with emu:
        yield emu


def _profile(folder: Path) -> Path:
    """The example profile, writing 25 records a batch through sObject Collections (many
    batch boundaries to interrupt), with no guardrail in the way."""
    text = (ROOT / "connectors" / "salesforce.example.yaml").read_text()
    text = text.replace("  bulk_threshold: 2000 ", "  bulk_threshold: 1000000 ")
    text = text.replace("  batch_size: 200 ", "  batch_size: 25 ")
    text += "\nguardrails: {max_changes: 100000, max_share: 1}\n"
    path = folder / "salesforce.yaml"
    path.write_text(text)
    return path


@dataclass(frozen=True, slots=True)
class InterruptedApply:
    org: SalesforceEmulator
    changes: list[OwnershipChange]
    command: list[str]
    env: dict[str, str]
    state: Path  # the profile's state store

    @property
    def ids(self) -> list[str]:
        return [c.account_id for c in self.changes]

    def written(self) -> int:
        """Records of the plan written so far, counting repeats (the emulator's count)."""
        counts = writes_of(self.org)
        return sum(counts[i] for i in self.ids)


def interrupted_apply(org: SalesforceEmulator, folder: Path, count: int) -> InterruptedApply:
    """A plan file of `count` changes for `org` and the apply command (JSON logs) that
    writes it; nothing is written yet."""
    profile = _profile(folder)
    book = adapter_for(org, folder / "scratch").pull()
    changes = changes_for(book, count)
    rules, digest = rules_for_any_move(folder / "rules", changes)
    plan = Plan(PLAN_FORMAT, "acme-sales", date(2026, 6, 30), 365, digest, [], changes,
                [], [], summary={"accounts": len(book.accounts)})  # fmt: skip
    plan_file = folder / "plan.json"
    plan_file.write_text(plan.to_json())
    env = {
        **os.environ,
        "SF_ACCESS_TOKEN": org.config.access_token,
        "SF_INSTANCE_URL": org.url,
        "SF_CA_BUNDLE": str(org.ca_path),
    }
    command = [sys.executable, "-m", "roleSync", "apply", str(plan_file), "-c", str(profile)]
    command += ["-r", str(rules), "--log-format", "json"]
    return InterruptedApply(org, changes, command, env, folder / ".rolesync" / "state.db")
