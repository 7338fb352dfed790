"""Rule files a run archived in the state store, loaded back into a RuleSet.

An archive is data: the texts go through the same safe YAML loader and the same
checks as files on disk (`check_rule_file`), never anything that executes them. The
digest is computed again from the texts, so an archive that does not hold the rules
it is filed under is refused rather than used to explain a run it did not decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.rules.loader import load_yaml_text
from roleSync.rules.ruleset import RULE_KINDS, RuleSet, check_rule_file, rules_digest
from roleSync.rules.schema import RolesFile, RoutingFile


def rule_set_from_archive(files: Sequence[tuple[str, str]], digest: str, origin: str) -> RuleSet:
    """The rule set of archived (name, text) pairs filed under `digest`; InputError with
    every problem (shown as `origin/name`) when they no longer load or do not match."""
    problems: list[Diagnostic] = []
    parsed: dict[str, object] = {}
    for name, text in files:
        shown = f"{origin}/{name}"
        try:
            loaded = load_yaml_text(text, shown)
        except InputError as exc:
            problems += exc.diagnostics
            continue
        # The path only names the file: the text is loaded already, nothing is read.
        kind, model, diagnostics = check_rule_file(Path(shown), loaded=loaded)
        problems += [d for d in diagnostics if d.severity is Severity.ERROR]
        if kind is not None and model is not None:
            parsed.setdefault(kind, model)
    found = rules_digest((name, text.encode()) for name, text in files)
    if found != digest:
        message = f"the archived rules have digest {found}, not {digest} they are filed under"
        problems.append(Diagnostic(origin, 0, 0, Severity.ERROR, message, "archive-digest"))
    for kind in RULE_KINDS:
        if kind not in parsed and not problems:
            problems.append(
                Diagnostic(origin, 0, 0, Severity.ERROR, f"no {kind} file archived", "archive")
            )
    if problems:
        raise InputError(problems)
    roles, routing = parsed["roles"], parsed["routing"]
    assert isinstance(roles, RolesFile) and isinstance(routing, RoutingFile)
    sources = tuple(f"{origin}/{name}" for name, _ in files)
    return RuleSet(roles, routing, sources, digest, tuple(files))
