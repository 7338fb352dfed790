"""Load YAML with positions and validate it against pydantic models.

Every problem becomes a Diagnostic with `path:line:col`. YAML features that can
hide code or blow up memory (anchors/aliases, tags, `%YAML`/`%TAG` directives) are
rejected from the event stream, before any node is built, so an alias bomb never
expands. Nesting deeper than any real file is refused before the parser runs
(roleSync.yaml_depth), and the text is parsed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, DocumentStartEvent, NodeEvent, StreamEndEvent
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.reader import ReaderError

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.rules.pydantic_errors import Loc as Loc
from roleSync.rules.pydantic_errors import pydantic_diagnostics
from roleSync.yaml_depth import too_deep

MAX_FILE_BYTES = 1024 * 1024
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
    # The file's text, to point inside a value (a task's placeholder); "" when unknown.
    text: str = ""

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

    def position_inside(self, loc: Loc, token: str, occurrence: int) -> tuple[int, int]:
        """Where the `occurrence`-th (0-based) `token` is in the text from the value at
        `loc` on: the offending part of a text value, as written (quoted, folded or
        escaped values included, as long as the token itself is written as it reads).
        The value's own position when the token cannot be found."""
        line, col = self.position(loc)
        if not self.text or not token:
            return line, col
        lines = self.text.split("\n")
        at = sum(len(text) + 1 for text in lines[: line - 1]) + col - 1 - 1
        for _ in range(occurrence + 1):
            at = self.text.find(token, at + 1)
            if at < 0:
                return line, col
        start = self.text.rfind("\n", 0, at) + 1
        return self.text.count("\n", 0, at) + 1, at - start + 1

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


def _reader_mark(exc: YAMLError, text: str) -> _Mark | None:
    """Where a character the YAML reader refuses (NUL, other controls) is: its error has
    an offset into the text, not a line and column."""
    position = getattr(exc, "position", None) if isinstance(exc, ReaderError) else None
    if not isinstance(position, int) or not 0 <= position <= len(text):
        return None
    before = text[:position]
    return _Mark(before.count("\n"), position - (before.rfind("\n") + 1))


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


def _unsafe(event: Any, text: str, display: str) -> Diagnostic | None:
    """The problem with one parse event: an alias, an anchor, a tag or a directive."""
    mark = event.start_mark
    if isinstance(event, AliasEvent):
        return _error_at(display, mark, "YAML aliases (*name) are not allowed", "yaml-alias")
    if isinstance(event, NodeEvent) and event.anchor is not None:
        return _error_at(display, mark, "YAML anchors (&name) are not allowed", "yaml-anchor")
    tag = getattr(event, "tag", None)
    if isinstance(event, NodeEvent) and tag is not None:
        return _error_at(display, mark, f"YAML tags ({tag}) are not allowed", "yaml-tag")
    if isinstance(event, DocumentStartEvent) and (event.version or event.tags):
        return _error_at(
            display,
            _directive_mark(text, mark),
            "YAML directives (%YAML, %TAG) are not allowed",
            "yaml-directive",
        )
    return None


class _CheckedYAML(YAML):
    """A round-trip loader that knows the text and its name, for _CheckingParser."""

    def __init__(self, text: str, display: str) -> None:
        super().__init__(typ="rt")
        self.checked_text = text
        self.display = display
        self.Parser = _CheckingParser
        self.Constructor = _TextDatesConstructor
        self.version = (1, 2)
        self.allow_duplicate_keys = False


class _CheckingParser(RoundTripParser):
    """Refuses anchors, aliases, tags and directives as the composer asks for each event,
    so the text is parsed once and an alias bomb never expands. At the first one, the
    rest of the stream is only parsed, to report every such construct at once."""

    def get_event(self) -> Any:
        event = super().get_event()
        loader = self.loader
        problem = _unsafe(event, loader.checked_text, loader.display)
        if problem is None:
            return event
        problems = [problem]
        while not isinstance(event, StreamEndEvent):
            event = super().get_event()
            problem = _unsafe(event, loader.checked_text, loader.display)
            if problem is not None:
                problems.append(problem)
        raise InputError(problems)


class _TextDatesConstructor(RoundTripConstructor):
    """Leave YYYY-MM-DD as text: ruamel would build a date and raise a bare ValueError,
    with no position, for an impossible one (2026-13-01). The models parse dates, with
    positioned errors."""


_TextDatesConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


@dataclass(frozen=True, slots=True)
class _Mark:
    line: int  # 0-based, like ruamel's marks
    column: int


def _directive_mark(text: str, fallback: Any) -> Any:
    """The directive's own line: the document-start event points at the `---` after it."""
    for number, line in enumerate(text.splitlines()):
        if line.startswith("%"):
            return _Mark(number, 0)
    return fallback


def _plain(node: Any, loc: Loc, out: LoadedYaml) -> Any:
    """Round-trip nodes to plain dict/list/scalars, recording positions on the way."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        # Where the collection itself starts: used for problems about it as a whole
        # (a missing key at the top level points at the first key, not at 1:1).
        out.value_positions.setdefault(loc, (node.lc.line + 1, node.lc.col + 1))
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
    deep = too_deep(text)
    if deep is not None:
        raise InputError(
            [
                Diagnostic(
                    display, deep.line, deep.column, Severity.ERROR, deep.message, "yaml-depth"
                )
            ]
        )
    try:
        documents = list(_CheckedYAML(text, display).load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _yaml_message(exc)
        code = "duplicate-key" if "duplicate key" in message else "yaml-syntax"
        raise InputError([_error_at(display, mark, message, code)]) from None
    except YAMLError as exc:
        raise InputError(
            [_error_at(display, _reader_mark(exc, text), str(exc).splitlines()[0], "yaml-syntax")]
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
    loaded = LoadedYaml(display, None, text=text)
    loaded.data = _plain(documents[0], (), loaded)
    return loaded


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = (exc.problem or str(exc)).strip()
    if exc.context and "duplicate key" in problem:
        return problem.split("\n")[0]
    parts = [p.strip() for p in (exc.context, problem) if p]
    return "; ".join(p.splitlines()[0] for p in parts)


def validate(loaded: LoadedYaml, model: type[Model]) -> Model:
    """Validate loaded data against a model; raise InputError with positioned errors."""
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        raise InputError(list(pydantic_diagnostics(loaded, model, exc))) from None
