"""`check -c PROFILE` on `carry`: a handoff that carries contacts or tasks from a CRM whose
profile does not pull them would carry nothing, silently. That is a warning, at the
carry entry, naming the profile switch that turns the pull on.

Pure: a routing file, its loaded positions and the mappings (which know what the
profile pulls) in; diagnostics out.
"""

from __future__ import annotations

from collections.abc import Iterator

from roleSync.errors import Diagnostic, Severity
from roleSync.rules.handoff_check import Mappings, located_blocks
from roleSync.rules.loader import LoadedYaml
from roleSync.rules.schema import RoutingFile


def carry_pull_problems(
    loaded: LoadedYaml, routing: RoutingFile, maps: Mappings | None
) -> Iterator[Diagnostic]:
    if maps is None or not maps.not_pulled:
        return
    for block, loc in located_blocks(routing):
        for index, entry in enumerate(block.carry):
            for name in entry.objects:
                if name in maps.not_pulled:
                    yield loaded.diagnostic(
                        (*loc, "carry", index),
                        f"handoff {block.id!r} carries {name}, which the profile does not "
                        f"pull, so none would move: set {maps.pull_section}.{name}: true",
                        "not-pulled",
                        severity=Severity.WARNING,
                    )
