"""`rolesync check`: validate rule files and connector profiles, reporting every problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.profile.common import DEFAULT_DEAL_KINDS, DEFAULT_LIFECYCLE, DEFAULT_STAGES
from roleSync.rules.handoff_check import Mappings
from roleSync.rules.loader import LoadedYaml, load_yaml
from roleSync.rules.ruleset import check_rule_file, rule_file_paths
from roleSync.rules.semantics import CheckContext

if TYPE_CHECKING:
    from roleSync.profile import Profile

PROFILE_KINDS = frozenset({"local", "salesforce", "hubspot"})


def _profile_problems(path: Path, loaded: LoadedYaml) -> list[Diagnostic]:
    # Here, not at the top: checking rule files alone need not load the profile models.
    from roleSync.profile import load_profile

    try:
        load_profile(path, loaded=loaded)
    except InputError as exc:
        return list(exc.diagnostics)
    return []


def _rule_test_problems(path: Path) -> list[Diagnostic]:
    from roleSync.rules.testing import load_test_file

    try:
        load_test_file(path)  # validates the file, its book and the rule files it names
    except InputError as exc:
        return list(exc.diagnostics)
    return []


def _is_rule_test(path: Path) -> bool:
    return path.name.endswith((".test.yaml", ".test.yml"))


def _kind(loaded: LoadedYaml) -> str | None:
    kind = loaded.data.get("kind") if isinstance(loaded.data, dict) else None
    return kind if isinstance(kind, str) else None


def context_from_profile(path: Path) -> CheckContext:
    """What a connector profile tells `check`: the extra account fields it maps, and
    the owners of its book (when the book can be read), to check names against."""
    from roleSync.profile import load_profile

    profile = load_profile(path)
    context = profile_context(profile)
    if profile.kind != "local" or not profile.book_path.is_file():
        return context
    from roleSync.adapters.local import LocalAdapter

    with LocalAdapter(profile) as adapter:
        owners = adapter.owners()  # not pull(): a big book's deals are not needed here
    by_key = {o.id: o for o in owners}
    by_key.update({o.email.casefold(): o for o in owners if o.email})
    return replace(context, owners=by_key)


def profile_context(profile: Profile) -> CheckContext:
    """What a profile's mapping tells a check: its extra account and owner fields, its
    stages, lifecycle values and deal kinds (not its book's owners)."""
    # A CRM profile maps its extra fields in its own section; a local book's come from import.
    if profile.salesforce is not None:
        fields = frozenset(profile.salesforce.fields.extra)
    elif profile.hubspot is not None:
        fields = frozenset(profile.hubspot.properties.extra)
    else:
        fields = frozenset(profile.import_.accounts.fields)
    mappings = Mappings(
        tuple(profile.stages),
        dict(profile.lifecycle),
        dict(profile.deal_kinds),
        "the profile's",
        profile.unpulled_related(),
        f"{profile.kind}.pull",
    )
    owner_fields, owner_section = profile.owner_fields()
    return CheckContext(
        account_fields=fields,
        mappings=mappings,
        owner_fields=owner_fields,
        owner_section=owner_section,
    )


# Without a profile, handoff triggers are checked against the stock mappings.
STOCK_MAPPINGS = Mappings(
    tuple(DEFAULT_STAGES), dict(DEFAULT_LIFECYCLE), dict(DEFAULT_DEAL_KINDS), "the stock"
)


def book_health_problems(path: Path) -> list[Diagnostic]:
    """The book health findings of a profile's book (its mirror for a CRM profile),
    positioned at the profile keys that fix them; none when there is no book yet."""
    from roleSync.health import scan
    from roleSync.profile import load_profile

    profile = load_profile(path)
    return scan(profile).diagnostics(profile)


def check_paths(
    paths: Iterable[Path], context: CheckContext | None = None
) -> tuple[int, list[Diagnostic]]:
    """(files checked, every diagnostic of every file), files dispatched on their `kind`."""
    files = rule_file_paths(paths)
    context = context or CheckContext(mappings=STOCK_MAPPINGS)
    problems: list[Diagnostic] = []
    for path in files:
        if not path.is_file():
            problems.append(
                Diagnostic(str(path), 0, 0, Severity.ERROR, "no such file", "file-missing")
            )
        elif _is_rule_test(path):
            problems.extend(_rule_test_problems(path))
        else:
            # Parsed once, here: the profile or rule-file check takes the loaded text.
            try:
                loaded = load_yaml(path)
            except InputError as exc:
                problems.extend(exc.diagnostics)
                continue
            if _kind(loaded) in PROFILE_KINDS:
                problems.extend(_profile_problems(path, loaded))
            else:
                problems.extend(check_rule_file(path, context, loaded=loaded)[2])
    return len(files), sorted(problems)
