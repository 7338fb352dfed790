"""`check` on handoff blocks: stages and lifecycle values a trigger names must exist in
the connector profile's mappings (or the stock ones without a profile), and a trigger
the mapping can never produce is a warning.

Pure: a routing file, its loaded positions and the mappings in; diagnostics out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from roleSync.errors import Diagnostic, Severity
from roleSync.model import DealKind
from roleSync.rules.loader import LoadedYaml, Loc
from roleSync.rules.schema import Handoff, RoutingFile, Trigger
from roleSync.rules.suggest import close_match

LIFECYCLE_VALUES = ("customer", "prospect", "other")
# Kinds a deal gets without any mapping: blank or unmapped types are inferred as these.
INFERRED_KINDS = frozenset({DealKind.NEW_BUSINESS, DealKind.EXPANSION})


@dataclass(frozen=True, slots=True)
class Mappings:
    """What a connector profile (or the stock defaults) maps: CRM value -> roleSync's word."""

    stages: tuple[str, ...]
    lifecycle: Mapping[str, str]
    deal_kinds: Mapping[str, DealKind]
    # Where they come from, for messages: "the profile's" or "the stock".
    source: str
    # Related records a CRM profile does not pull ("contacts", "tasks") and the profile
    # section that switches them on ("salesforce.pull"): a carry of them moves nothing.
    not_pulled: frozenset[str] = frozenset()
    pull_section: str = ""


def _fold(text: str) -> str:
    return text.strip().casefold()


def _stage_problems(
    loaded: LoadedYaml, block: Handoff, loc: Loc, maps: Mappings
) -> Iterator[Diagnostic]:
    stage = block.stage or ""
    known = {_fold(s): s for s in maps.stages}
    if _fold(stage) not in known:
        match = close_match(_fold(stage), known)
        hint = (
            f"; did you mean {known[match]!r}?"
            if match
            else f'; add it to the profile\'s stages (stages."{stage}": open)'
        )
        yield loaded.diagnostic(
            (*loc, "stage"),
            f"unknown stage {stage!r} in {maps.source} stages{hint}",
            "unknown-stage",
        )
    mapped = set(maps.deal_kinds.values()) | INFERRED_KINDS
    never = [k.value for k in block.deal_kinds if k not in mapped]
    if never and len(never) == len(block.deal_kinds):
        yield loaded.diagnostic(
            (*loc, "kinds"),
            f"this trigger can never fire: no deal type in {maps.source} deal_kinds maps to "
            f"{', '.join(never)}",
            "never-fires",
            severity=Severity.WARNING,
        )


def _lifecycle_problems(
    loaded: LoadedYaml, block: Handoff, loc: Loc, maps: Mappings
) -> Iterator[Diagnostic]:
    value = block.lifecycle or ""
    if _fold(value) not in LIFECYCLE_VALUES:
        raw = {_fold(k): v for k, v in maps.lifecycle.items()}
        if _fold(value) in raw:
            hint = (
                f"; {value!r} is a CRM value {maps.source} lifecycle maps to "
                f"{raw[_fold(value)]!r}: did you mean {raw[_fold(value)]!r}?"
            )
        else:
            match = close_match(_fold(value), LIFECYCLE_VALUES)
            hint = f"; did you mean {match!r}?" if match else ""
        yield loaded.diagnostic(
            (*loc, "lifecycle"),
            f"unknown lifecycle {value!r}: one of {', '.join(LIFECYCLE_VALUES)}{hint}",
            "unknown-value",
        )
    elif _fold(value) != "other" and _fold(value) not in set(maps.lifecycle.values()):
        yield loaded.diagnostic(
            (*loc, "lifecycle"),
            f"this trigger can never fire: no CRM value in {maps.source} lifecycle maps to "
            f"{value!r}",
            "never-fires",
            severity=Severity.WARNING,
        )


def located_blocks(routing: RoutingFile) -> list[tuple[Handoff, Loc]]:
    """The handoff blocks written in the file, each with where it is."""
    if routing.handoffs is not None:
        return [(b, ("handoffs", i)) for i, b in enumerate(routing.handoffs)]
    return [] if routing.handoff is None else [(routing.handoff, ("handoff",))]


def _route_id_problems(loaded: LoadedYaml, routing: RoutingFile) -> Iterator[Diagnostic]:
    """A block's own route ids must be new: plans, explain and the rotation state name
    routes by id, so two routes with one id would share a rotation and a story."""
    seen = {route.id for route in routing.routes}
    for block, loc in located_blocks(routing):
        own = block.routes or ()
        for at, route in enumerate(own):
            if route.id in seen:  # a repeat within the block is the rule-set loader's
                yield loaded.diagnostic(
                    (*loc, "routes", at, "id"),
                    f"a second route with id {route.id!r}: a block's routes need their own ids",
                    "duplicate-id",
                )
        seen.update(route.id for route in own)


def handoff_problems(
    loaded: LoadedYaml, routing: RoutingFile, maps: Mappings | None
) -> list[Diagnostic]:
    """Repeated block ids (errors, always); unknown stages and lifecycle values (errors)
    and triggers that cannot fire (warnings) when there are `maps` to check against
    (None: a run loading its rules, whose profile may map stages `check` never saw)."""
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for index, block in enumerate(routing.handoffs or ()):
        if block.id in seen:  # plans and explain name blocks by id: it must be unique
            message = f"a second handoff block with id {block.id!r}"
            problems.append(loaded.diagnostic(("handoffs", index, "id"), message, "duplicate-id"))
        seen.add(block.id)
    problems += _route_id_problems(loaded, routing)
    if maps is None:
        return problems
    for block, loc in located_blocks(routing):
        if block.trigger is Trigger.STAGE_REACHED:
            problems.extend(_stage_problems(loaded, block, loc, maps))
        elif block.trigger is Trigger.LIFECYCLE_BECAME:
            problems.extend(_lifecycle_problems(loaded, block, loc, maps))
    return problems
