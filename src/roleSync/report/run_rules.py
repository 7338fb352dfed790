"""The rules a past run was decided with, for `explain --run`: its archived rule files
when the state store has them (runs since the rules archive), else the files given
with -r, used only when they are the run's (same digest). Either way the explanation
says which, in its first line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roleSync.errors import InputError
from roleSync.profile import Profile
from roleSync.rules.archive import rule_set_from_archive
from roleSync.rules.ruleset import RuleSet, load_rule_set
from roleSync.sync.state_open import stored_state


@dataclass(frozen=True, slots=True)
class RunRules:
    rules: RuleSet | None
    note: str


def short(digest: str) -> str:
    return digest[:19] + "..." if len(digest) > 22 else digest


def archived_files(profile: Profile, digest: str) -> list[tuple[str, str]] | None:
    if not digest:
        return None
    opened = stored_state(profile)
    if opened is None:
        return None
    with opened as store:
        return store.archived_rules(digest)


def rules_of_run(
    profile: Profile, run_id: str, digest: str, given: Sequence[Path] | None
) -> RunRules:
    files = archived_files(profile, digest)
    if files is not None:
        try:
            rules = rule_set_from_archive(files, digest, f"run {run_id} rules")
        except InputError as exc:
            why = str(exc.diagnostics[0]) if exc.diagnostics else "unreadable"
            return _fallback(
                f"Rules: the rules archived with run {run_id} ({short(digest)}) no longer "
                f"load ({why})",
                given,
            )
        names = ", ".join(name for name, _ in files)
        skipped = "; the rule files given with -r are not used" if given else ""
        return RunRules(
            rules,
            f"Rules: the run's own ({names}, {short(digest)}), archived in the state store "
            f"when it ran, not today's rule files{skipped}.",
        )
    if digest.startswith("rollback:"):
        # A rollback's plan comes from the audit log: no rules decided it.
        undone = digest.removeprefix("rollback:")
        return RunRules(None, f"Rules: none; run {run_id} is the rollback of run {undone}.")
    return _fallback(
        f"Rules: run {run_id} has no archived rule files (it ran before roleSync kept them, "
        "or was applied with --allow-stale-rules under other rules)",
        given,
    )


def _fallback(head: str, given: Sequence[Path] | None) -> RunRules:
    """Today's behaviour: the files given with -r, used only if they are the run's."""
    if not given:
        return RunRules(None, f"{head}; the recorded reasons are the trail.")
    return RunRules(
        load_rule_set(given),
        f"{head}; the files given with -r re-derive owner trails only if they are the "
        "run's (same digest).",
    )
