"""Find, load and check rule files: every problem of every file, each with its position."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.rules.loader import LoadedYaml, Loc, load_yaml
from roleSync.rules.salvage import ORDER_CODES, validate_everything
from roleSync.rules.schema import (
    ACCOUNT_EXTRA_PREFIX,
    ACCOUNT_FIELDS,
    OWNER_FIELDS,
    RolesFile,
    RoutingFile,
)
from roleSync.rules.semantics import CheckContext, roles_problems, routing_problems
from roleSync.rules.suggest import close_match, did_you_mean
from roleSync.rules.territory_check import shape_problems

RULE_KINDS: dict[str, type[BaseModel]] = {"roles": RolesFile, "routing": RoutingFile}
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class RuleSet:
    roles: RolesFile
    routing: RoutingFile
    sources: tuple[str, ...]
    # sha256 of the rule files' bytes: plans and audits name the exact rules they used.
    digest: str
    # (file name, text) in digest order: what a run archives in the state store.
    files: tuple[tuple[str, str], ...] = ()


def rules_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """The digest of rule files given as (name, bytes), in path order."""
    digest = hashlib.sha256()
    for name, raw in files:
        digest.update(name.encode() + b"\0" + raw + b"\0")
    return "sha256:" + digest.hexdigest()


def rule_file_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders contribute their top-level *.yaml/*.yml (not tests/)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
            )
        else:
            found.append(path)
    return found


def _kind_of(loaded: LoadedYaml) -> str | None:
    data = loaded.data
    return (
        data.get("kind") if isinstance(data, dict) and isinstance(data.get("kind"), str) else None
    )


def _condition_fields(node: Any, loc: Loc) -> Iterable[tuple[Loc, str, str]]:
    """(loc, 'metric'|'field', name) of every comparison under a raw condition node."""
    if isinstance(node, dict):
        for key in ("metric", "field"):
            if isinstance(node.get(key), str):
                yield (*loc, key), key, node[key]
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                for i, child in enumerate(node[key]):
                    yield from _condition_fields(child, (*loc, key, i))
        if "not" in node:
            yield from _condition_fields(node["not"], (*loc, "not"))


def _rule_lists(loaded: LoadedYaml, kind: str) -> Iterator[tuple[Loc, list[Any]]]:
    """Each list of rules in the raw file with where it is: classify or routes, and the
    `routes` of handoff blocks (owner_left), which compare account fields too."""
    data = loaded.data if isinstance(loaded.data, dict) else {}
    section = "classify" if kind == "roles" else "routes"
    if isinstance(data.get(section), list):
        yield (section,), data[section]
    if kind != "routing":
        return
    blocks = data.get("handoffs")
    located = list(enumerate(blocks)) if isinstance(blocks, list) else []
    at: list[tuple[Loc, Any]] = [(("handoffs", i), b) for i, b in located]
    at.append((("handoff",), data.get("handoff")))
    for loc, block in at:
        if isinstance(block, dict) and isinstance(block.get("routes"), list):
            yield (*loc, "routes"), block["routes"]


def _semantic(loaded: LoadedYaml, kind: str) -> list[Diagnostic]:
    """Checks the schema cannot express: unique ids, subjects valid where they are used."""
    problems: list[Diagnostic] = []
    for where, items in _rule_lists(loaded, kind):
        seen: dict[str, int] = {}
        named = ".".join(str(part) for part in where)
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            rule_id = item.get("id")
            if isinstance(rule_id, str):
                if rule_id in seen:
                    problems.append(
                        loaded.diagnostic(
                            (*where, index, "id"),
                            f"duplicate id {rule_id!r} (first used in {named}[{seen[rule_id]}])",
                            "duplicate-id",
                        )
                    )
                seen.setdefault(rule_id, index)
            whens = [((*where, index, "when"), item.get("when"))]
            if kind == "routing":
                whens += _class_whens(item, (*where, index))
                problems += shape_problems(loaded, item, (*where, index))
            for when_at, when in whens:
                for loc, key, name in _condition_fields(when, when_at):
                    problem = _subject_problem(kind, key, name)
                    if problem:
                        problems.append(loaded.diagnostic(loc, problem, "unknown-field"))
    return problems


def _class_whens(route: dict[str, Any], loc: Loc) -> list[tuple[Loc, Any]]:
    """A route's `capacity.per_class` conditions, which compare account fields too."""
    assign = route.get("assign")
    capacity = assign.get("capacity") if isinstance(assign, dict) else None
    classes = capacity.get("per_class") if isinstance(capacity, dict) else None
    if not isinstance(classes, list):
        return []
    at = (*loc, "assign", "capacity", "per_class")
    return [((*at, i, "when"), c.get("when")) for i, c in enumerate(classes) if isinstance(c, dict)]


def _subject_problem(kind: str, key: str, name: str) -> str | None:
    if kind == "roles":
        if key == "field" and name not in OWNER_FIELDS:
            hint = did_you_mean(name, OWNER_FIELDS) or f"; known: {', '.join(OWNER_FIELDS)}"
            return f"unknown owner field {name!r}{hint}"
        return None
    if key == "metric":
        return "routes look at accounts: use 'field: account.…', not a metric"
    if name in ACCOUNT_FIELDS or (
        name.startswith(ACCOUNT_EXTRA_PREFIX) and len(name) > len(ACCOUNT_EXTRA_PREFIX)
    ):
        return None
    return f"unknown account field {name!r}{_account_hint(name)}"


def _account_hint(name: str) -> str:
    """A misspelt built-in field (account.regoin), else the extra field it likely is
    (account.industry is account.fields.industry): compared by the part after `account.`,
    which every field shares."""
    own = name.removeprefix("account.")
    if own != name and own and "." not in own:
        by_own = {field.removeprefix("account."): field for field in ACCOUNT_FIELDS}
        match = close_match(own, by_own)
        if match:
            return f"; did you mean {by_own[match]!r}?"
        return (
            f"; did you mean {ACCOUNT_EXTRA_PREFIX + own!r} (an extra field the connector "
            "profile maps)?"
        )
    known = (*ACCOUNT_FIELDS, f"{ACCOUNT_EXTRA_PREFIX}<name>")
    return did_you_mean(name, ACCOUNT_FIELDS) or f"; known: {', '.join(known)}"


def check_rule_file(
    path: Path, context: CheckContext | None = None, *, loaded: LoadedYaml | None = None
) -> tuple[str | None, BaseModel | None, list[Diagnostic]]:
    """(kind, model or None, diagnostics) for one rule file; never raises InputError.

    The model is None when any error was found; warnings alone keep it. `loaded`: the
    file's text already loaded by the caller, so it is not parsed twice.
    """
    if loaded is None:
        try:
            loaded = load_yaml(path)
        except InputError as exc:
            return None, None, list(exc.diagnostics)
    kind = _kind_of(loaded)
    if kind not in RULE_KINDS:
        where = ("kind",) if isinstance(loaded.data, dict) and "kind" in loaded.data else ()
        shown = f"{kind!r}" if kind else "missing"
        return (
            None,
            None,
            [
                loaded.diagnostic(
                    where,
                    f"kind is {shown}; a rule file has kind: roles or kind: routing",
                    "unknown-kind",
                )
            ],
        )
    # Every problem at once: a misspelt section is read as meant, and the semantic
    # checks (and their warnings) run on whatever part of the file is valid.
    checked = validate_everything(loaded, RULE_KINDS[kind])
    problems = _semantic(checked.view, kind) + checked.diagnostics
    context = context or CheckContext()
    found: list[Diagnostic] = []
    if checked.partial is not None:
        view, partial = checked.partial
        if isinstance(partial, RolesFile):
            found = roles_problems(view, partial, context)
        elif isinstance(partial, RoutingFile):
            found = routing_problems(view, partial, context)
    if not checked.order_known:
        found = [p for p in found if p.code not in ORDER_CODES]
    problems = list(dict.fromkeys([*problems, *found]))
    failed = any(p.severity is Severity.ERROR for p in problems)
    return kind, (None if failed else checked.model), problems


def load_rule_set(paths: Sequence[Path], context: CheckContext | None = None) -> RuleSet:
    """Exactly one roles file and one routing file, or an InputError listing every problem.
    `context`: also refuse what does not fit a profile (`rolesync diff` checks both rule
    versions against the profile it plans for)."""
    files = rule_file_paths(paths)
    problems: list[Diagnostic] = []
    parsed: dict[str, tuple[Path, BaseModel]] = {}
    for path in files:
        kind, model, diagnostics = check_rule_file(path, context)
        # Warnings are `check`'s business; a run refuses only errors.
        problems.extend(d for d in diagnostics if d.severity is Severity.ERROR)
        if kind is None or model is None:
            continue
        if kind in parsed:
            problems.append(
                Diagnostic(
                    str(path),
                    1,
                    1,
                    Severity.ERROR,
                    f"a second {kind} file (first: {parsed[kind][0]})",
                    "duplicate-kind",
                )
            )
        parsed.setdefault(kind, (path, model))
    shown = ", ".join(str(p) for p in paths) or "(none)"
    for kind in RULE_KINDS:
        if kind not in parsed and not problems:
            problems.append(
                Diagnostic(
                    shown, 0, 0, Severity.ERROR, f"no {kind} rule file found", "missing-rule-file"
                )
            )
    if problems:
        raise InputError(problems)
    roles, routing = parsed["roles"][1], parsed["routing"][1]
    assert isinstance(roles, RolesFile) and isinstance(routing, RoutingFile)
    raw = [(path.name, path.read_bytes()) for path in sorted(p for p, _ in parsed.values())]
    # Loaded as UTF-8 above, so the text archived gives back the very bytes digested.
    texts = tuple((name, data.decode("utf-8", errors="replace")) for name, data in raw)
    return RuleSet(
        roles, routing, tuple(str(p) for p, _ in parsed.values()), rules_digest(raw), texts
    )
