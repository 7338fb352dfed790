"""Load YAML with positions and validate it against pydantic models.

Every problem becomes a Diagnostic with `path:line:col`. YAML features that can
hide code or blow up memory (anchors/aliases, tags, `%YAML`/`%TAG` directives) are
rejected from the event stream, before any node is built, so an alias bomb never
expands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, DocumentStartEvent, NodeEvent

from roleSync.errors import Diagnostic, InputError, Severity

MAX_FILE_BYTES = 1024 * 1024
Loc = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)


@dataclass(slots=True)
class LoadedYaml:
    """Plain Python data plus the position of every key and value in it."""

    path: str
    data: Any
    # loc -> (line, col), both 1-based. A mapping key's loc points at the key itself;
    # `value_positions` points at what follows the colon.
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    value_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def position(self, loc: Loc, *, prefer_key: bool = False) -> tuple[int, int]:
        """The closest known position of `loc`, walking up to its parents."""
        while True:
            first, second = (
                (self.key_positions, self.value_positions)
                if prefer_key
                else (self.value_positions, self.key_positions)
            )
            if loc in first:
                return first[loc]
            if loc in second:
                return second[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]

    def diagnostic(
        self,
        loc: Loc,
        message: str,
        code: str,
        *,
        prefer_key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        line, col = self.position(loc, prefer_key=prefer_key)
        return Diagnostic(self.path, line, col, severity, message, code)


def _error_at(path: str, mark: Any, message: str, code: str) -> Diagnostic:
    line = getattr(mark, "line", 0) + 1 if mark is not None else 1
    col = getattr(mark, "column", 0) + 1 if mark is not None else 1
    return Diagnostic(path, line, col, Severity.ERROR, message, code)


def _read_text(path: Path, display: str, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(
            [
                Diagnostic(
                    display,
                    0,
                    0,
                    Severity.ERROR,
                    f"cannot read file: {exc.strerror}",
                    "file-unreadable",
                )
            ]
        ) from None
    if size > max_bytes:
        raise InputError(
            [
                Diagnostic(
                    display,
                    0,
                    0,
                    Severity.ERROR,
                    f"file is {size:,} bytes; the limit is {max_bytes:,}",
                    "file-too-large",
                )
            ]
        )
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            [Diagnostic(display, line, col, Severity.ERROR, "file is not valid UTF-8", "not-utf8")]
        ) from None


def _unsafe_constructs(text: str, display: str) -> list[Diagnostic]:
    """Anchors, aliases, tags and directives, found in the event stream (nothing is built)."""
    problems: list[Diagnostic] = []
    yaml = YAML(typ="rt")
    for event in yaml.parse(text):
        mark = event.start_mark
        if isinstance(event, AliasEvent):
            problems.append(
                _error_at(display, mark, "YAML aliases (*name) are not allowed", "yaml-alias")
            )
        elif isinstance(event, NodeEvent) and event.anchor is not None:
            problems.append(
                _error_at(display, mark, "YAML anchors (&name) are not allowed", "yaml-anchor")
            )
        tag = getattr(event, "tag", None)
        if isinstance(event, NodeEvent) and tag is not None:
            problems.append(
                _error_at(display, mark, f"YAML tags ({tag}) are not allowed", "yaml-tag")
            )
        if isinstance(event, DocumentStartEvent) and (event.version or event.tags):
            problems.append(
                _error_at(
                    display, mark, "YAML directives (%YAML, %TAG) are not allowed", "yaml-directive"
                )
            )
    return problems


def _plain(node: Any, loc: Loc, out: LoadedYaml) -> Any:
    """Round-trip nodes to plain dict/list/scalars, recording positions on the way."""
    if isinstance(node, CommentedMap):
        result: dict[Any, Any] = {}
        for key in node:
            child: Loc = (*loc, key)
            kl, kc = node.lc.key(key)
            vl, vc = node.lc.value(key)
            out.key_positions[child] = (kl + 1, kc + 1)
            out.value_positions[child] = (vl + 1, vc + 1)
            result[key] = _plain(node[key], child, out)
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, item in enumerate(node):
            child = (*loc, index)
            il, ic = node.lc.item(index)
            out.value_positions[child] = (il + 1, ic + 1)
            items.append(_plain(item, child, out))
        return items
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar string subclasses
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def load_yaml(
    path: Path, *, display: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> LoadedYaml:
    """Read one YAML document safely; raise InputError with every problem found."""
    shown = display or str(path)
    text = _read_text(path, shown, max_bytes)
    return load_yaml_text(text, shown)


def load_yaml_text(text: str, display: str) -> LoadedYaml:
    try:
        unsafe = _unsafe_constructs(text, display)
        if unsafe:
            raise InputError(unsafe)
        yaml = YAML(typ="rt")
        yaml.version = (1, 2)
        yaml.allow_duplicate_keys = False
        documents = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _yaml_message(exc)
        code = "duplicate-key" if "duplicate key" in message else "yaml-syntax"
        raise InputError([_error_at(display, mark, message, code)]) from None
    except YAMLError as exc:
        raise InputError(
            [_error_at(display, None, str(exc).splitlines()[0], "yaml-syntax")]
        ) from None
    if len(documents) != 1:
        raise InputError(
            [
                Diagnostic(
                    display,
                    1,
                    1,
                    Severity.ERROR,
                    f"expected exactly one YAML document, found {len(documents)}",
                    "yaml-documents",
                )
            ]
        )
    loaded = LoadedYaml(display, None)
    loaded.data = _plain(documents[0], (), loaded)
    return loaded


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = (exc.problem or str(exc)).strip()
    if exc.context and "duplicate key" in problem:
        return problem.split("\n")[0]
    parts = [p.strip() for p in (exc.context, problem) if p]
    return "; ".join(p.splitlines()[0] for p in parts)


def _pydantic_diagnostics(loaded: LoadedYaml, error: ValidationError) -> Iterator[Diagnostic]:
    for item in error.errors(include_url=False):
        loc: Loc = tuple(part for part in item["loc"] if not _is_union_tag(part))
        kind = item["type"]
        message = item["msg"]
        if kind == "extra_forbidden":
            name = loc[-1] if loc else "?"
            yield loaded.diagnostic(loc, f"unknown key {name!r}", "unknown-key", prefer_key=True)
            continue
        if kind == "missing":
            name = loc[-1] if loc else "?"
            yield loaded.diagnostic(
                loc[:-1], f"missing required key {name!r}", "missing-key", prefer_key=True
            )
            continue
        where = ".".join(str(p) for p in loc)
        text = f"{where}: {message}" if where else message
        yield loaded.diagnostic(loc, text, f"invalid-{kind.replace('_', '-')}")


def _is_union_tag(part: str | int) -> bool:
    # Pydantic inserts the tag of a tagged-union member into `loc`; it is not a YAML key.
    return isinstance(part, str) and part.startswith("<") and part.endswith(">")


def validate(loaded: LoadedYaml, model: type[Model]) -> Model:
    """Validate loaded data against a model; raise InputError with positioned errors."""
    try:
        return model.model_validate(loaded.data, strict=False)
    except ValidationError as exc:
        raise InputError(list(_pydantic_diagnostics(loaded, exc))) from None
