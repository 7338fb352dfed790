"""`rolesync fmt`: one canonical layout for rule files, rule tests and connector profiles.

Comments are the hard part. ruamel.yaml stores a comment with the token *before* it (a
comment above `b:` becomes trailing text of `a`'s value, at its deepest level), so moving
keys of a CommentedMap drags comments to the wrong place. This module works in steps:

1. refuse what the loader refuses (anchors, tags, duplicate keys, bad syntax), with the
   loader's own positioned errors: `format_text` calls `load_yaml_text` first;
2. compose the text into ruamel *nodes*, not Python values, so each scalar is written back
   as authored (quotes, `0.60`, `~`, block scalars);
3. find every comment and blank line and give it an owner by position: the entry (mapping
   key or sequence item) it sits above or at the end of, the block it closes, or the head
   or tail of the document;
4. order mapping keys by the pydantic model of the file, pick block or flow style, and
   serialize the nodes with no comment at all;
5. put each comment back beside its owner, and refuse the result unless it holds exactly
   the data and the comments of the input.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.rules.loader import load_yaml_text
from roleSync.rules.resolved import resolved_fields

WIDTH = 120
Node = Any  # ruamel's nodes carry no type information
Block = list[tuple[int, int, str]]  # (input line, indent or column, text); "" is a blank line


class FormatError(InputError):
    """The formatter would change the data or lose a comment: a bug, so nothing is written."""


@dataclass(eq=False, slots=True)
class _Entry:
    """A mapping key with its value, or a sequence item: what comments belong to."""

    key: Node | None  # None for a sequence item
    value: Node
    container: Node
    parent: _Entry | None
    line: int  # 0-based, of the key or the item
    col: int  # of the key, or of the item's dash in a block sequence
    in_flow: bool

    @property
    def ident(self) -> int:
        return id(self.key if self.key is not None else self.value)


@dataclass(slots=True)
class _Comments:
    head: Block = field(default_factory=list)
    tail: Block = field(default_factory=list)
    lead: dict[int, Block] = field(default_factory=dict)  # entry ident -> lines above it
    eol: dict[int, Block] = field(default_factory=dict)  # entry ident -> end-of-line comment
    trail: dict[int, Block] = field(default_factory=dict)  # id(container) -> lines closing it


# -- key order ----------------------------------------------------------------------------


def _key(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else ""  # "": no field name


def _top_model(root: Node) -> type[BaseModel] | None:
    """The model of the whole file: by `kind` (rules, profiles), or a rule-test file."""
    from roleSync.profile import Profile
    from roleSync.rules.ruleset import RULE_KINDS

    keys = {_key(k): v for k, v in root.value} if isinstance(root, MappingNode) else {}
    kind = getattr(keys.get("kind"), "value", None)
    if kind in RULE_KINDS:
        return RULE_KINDS[kind]
    if kind in get_args(Profile.model_fields["kind"].annotation):
        return Profile
    if kind is None and ("rule_files" in keys or "tests" in keys):
        try:
            from roleSync.rules.testing_schema import RuleTestFile
        except ImportError:  # the rule-test language is optional here: format without it
            return None
        return RuleTestFile
    return None


def _alternatives(hint: Any) -> list[Any]:
    """The members of a type hint once Annotated and unions are unwrapped."""
    origin = get_origin(hint)
    if origin is Annotated:
        return _alternatives(get_args(hint)[0])
    if origin is Union or origin is UnionType:
        return [alt for arg in get_args(hint) for alt in _alternatives(arg)]
    return [hint]


@cache
def _field_hints(model: type[BaseModel]) -> dict[str, tuple[int, Any]]:
    """YAML key -> (canonical position, type hint); a field answers to alias and name."""
    hints: dict[str, tuple[int, Any]] = {}
    for index, (name, info) in enumerate(resolved_fields(model).items()):
        hints[name] = (index, info.annotation)
        if info.alias:
            hints[info.alias] = (index, info.annotation)
    return hints


def _order(node: Node, hint: Any) -> None:
    """Sort the keys of every mapping the hint describes into its model's field order."""
    alternatives = _alternatives(hint)
    if isinstance(node, SequenceNode):
        items = [get_args(a)[0] for a in alternatives if get_origin(a) is list]
        for item in node.value:
            _order(item, items[0] if items else None)
    if not isinstance(node, MappingNode):
        return
    models = [a for a in alternatives if isinstance(a, type) and issubclass(a, BaseModel)]
    if models:
        # A union of models (a condition: all/any/not/comparison) is told apart by its
        # keys: the model that knows most of them describes the mapping.
        keys = {_key(key) for key, _ in node.value}
        model = max(models, key=lambda m: len(keys & set(_field_hints(m))))
        hints = _field_hints(model)
        last = (len(hints), None)
        # A stable sort: unknown keys keep their relative order, after the known ones.
        node.value.sort(key=lambda pair: hints.get(_key(pair[0]), last)[0])
        for key, value in node.value:
            _order(value, hints.get(_key(key), last)[1])
        return
    values = [get_args(a)[1] for a in alternatives if get_origin(a) is dict]
    for _, value in node.value:  # a dict keeps the author's order (deal kinds, columns)
        _order(value, values[0] if values else None)


# -- reading comments -----------------------------------------------------------------


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _nodes(child)


def _entries(root: Node) -> list[_Entry]:
    """Every key and item in document order (a parent before its children)."""
    found: list[_Entry] = []

    def visit(node: Node, parent: _Entry | None, in_flow: bool) -> None:
        flow = in_flow or bool(getattr(node, "flow_style", False))
        mapping = isinstance(node, MappingNode)
        for key, value in node.value if mapping else [(None, c) for c in _children(node)]:
            mark = (key if key is not None else value).start_mark
            # All dashes of a block sequence stand in the column its start mark points at.
            col = node.start_mark.column if key is None and not flow else mark.column
            entry = _Entry(key, value, node, parent, mark.line, col, flow)
            found.append(entry)
            visit(value, entry, flow)

    visit(root, None, False)
    return found


def _scalar_spans(text: str, root: Node) -> list[tuple[int, int]]:
    """Where scalars are, as text offsets: a `#` in there is data, not a comment."""
    spans = []
    for node in _nodes(root):
        if isinstance(node, ScalarNode):
            start, end = node.start_mark.index, node.end_mark.index
            if node.style in ("|", ">"):
                # The header line of a block scalar (`key: |  # note`) may hold a comment,
                # and blank lines after it are content only when it keeps them (`|+`).
                header = text.find("\n", start) % (len(text) + 1)  # -1: the text's end
                if "+" not in text[start:header]:
                    end = start + len(text[start:end].rstrip())
                start = header
            spans.append((start, end))
    return sorted(spans)


def _comment_lines(text: str, root: Node) -> list[tuple[int, int, str, bool]]:
    """(line, column, text, is end-of-line) of each comment; column -1 and "" for a blank."""
    spans = _scalar_spans(text, root)
    starts = [start for start, _ in spans]

    def in_scalar(index: int) -> bool:
        k = bisect_right(starts, index) - 1
        return k >= 0 and spans[k][0] <= index < spans[k][1]

    found: list[tuple[int, int, str, bool]] = []
    offset = 0
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()  # what follows the final line break is not a line
    for number, line in enumerate(lines):
        # A comment starts with `#` at the start of a line or after a space, outside scalars.
        marks = (m.start() for m in re.finditer(r"(?<![^ \t])#", line))
        col = next((c for c in marks if not in_scalar(offset + c)), -1)
        if col >= 0:
            found.append((number, col, line[col:].rstrip(), bool(line[:col].strip())))
        elif not line.strip() and not in_scalar(offset):
            found.append((number, -1, "", False))
        offset += len(line) + 1
    return found


def _unflow(entry: _Entry) -> _Entry:
    """A comment's owner needs a line of its own: its flow ancestors become block."""
    current: _Entry | None = entry
    while current is not None:
        if current.container.flow_style:
            current.container.flow_style = False
        current = current.parent
    return entry


def _place(comments: list[tuple[int, int, str, bool]], entries: list[_Entry]) -> _Comments:
    """Give every comment and blank line of the input an owner."""
    placed = _Comments()
    lines = [entry.line for entry in entries]
    below: tuple[int, Block] | None = None  # gap and target of the comment line below
    # Bottom up, so that a blank line joins the comment it separates from what is above.
    for number, col, body, eol in reversed(comments):
        gap = bisect_right(lines, number)  # index of the next entry
        if eol:
            on_line = entries[bisect_left(lines, number) : gap]
            block = [e for e in on_line if not e.in_flow]
            # The deepest block entry on the line (`- id: x  # c` is about `id`); in a
            # multi-line flow collection, the outermost entry that starts on the line.
            candidates = block[-1:] or on_line[:1] or entries[max(gap - 1, 0) : gap]
            if candidates:
                owner = _unflow(candidates[-1])
                placed.eol.setdefault(owner.ident, []).append((number, col, body))
            else:
                placed.head.append((number, 0, body))
        elif body or below is None or below[0] != gap:
            target = _full_line_target(placed, entries, gap, max(col, 0))
            target.append((number, 0, body))
            below = (gap, target) if body else below
        else:
            below[1].append((number, 0, body))
    return placed


def _full_line_target(placed: _Comments, entries: list[_Entry], gap: int, col: int) -> Block:
    if gap == 0:
        return placed.head
    after = entries[gap] if gap < len(entries) else None
    if after is None or col > after.col:
        # Indented deeper than what follows: the comment closes an inner block (a
        # commented-out last item, say), so it stays at the end of that block.
        closing: _Entry | None = entries[gap - 1]
        while closing is not None and closing.col > col:
            closing = closing.parent
        inner = after  # what follows, or its ancestor in the closing entry's collection
        while (
            closing is not None and inner is not None and inner.container is not closing.container
        ):
            inner = inner.parent
        if closing is not None and closing.parent is not None and inner is None:
            return placed.trail.setdefault(id(_unflow(closing).container), [])
        if after is None:
            return placed.tail
    return placed.lead.setdefault(_unflow(after).ident, [])


# -- writing ------------------------------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = WIDTH
    return yaml


def _unwrap(mine: Node, theirs: Node, lines: list[str]) -> bool:
    """Make block each outermost flow collection that does not fit on its line."""
    start, end = theirs.start_mark.line, theirs.end_mark.line
    if getattr(theirs, "flow_style", False) and (end > start or len(lines[start]) > WIDTH):
        mine.flow_style = False  # its items may fit on their own lines: see the next round
        return True
    pairs = zip(_children(mine), _children(theirs), strict=True)
    return any([_unwrap(m, t, lines) for m, t in pairs])  # a list: visit every child


def _serialize(root: Node) -> tuple[str, Node]:
    """The nodes as text without comments, and that text composed again (for positions).

    One item per line reads better than a flow collection folded mid-way or running
    past the width; each round turns at least one flow collection into block.
    """
    while True:
        stream = io.StringIO()
        _yaml().serialize(root, stream)
        out = stream.getvalue()
        if isinstance(root, SequenceNode) and not root.flow_style:
            # The emitter indents a top-level sequence by the dash offset: move every
            # line left by as much, which keeps the structure.
            out = "\n".join(line[2:] if line[:2] == "  " else line for line in out.split("\n"))
        composed = _yaml().compose(out)
        if not _unwrap(root, composed, out.split("\n")):
            return out, composed


def _last_line(node: Node) -> int:
    """The last output line a node's text uses."""
    if isinstance(node, ScalarNode):
        end = node.end_mark
        return int(end.line - (end.column == 0 and end.line > node.start_mark.line))
    if node.flow_style or not node.value:
        return int(node.end_mark.line if node.flow_style else node.start_mark.line)
    last = node.value[-1]
    return _last_line(last[1] if isinstance(node, MappingNode) else last)


def _assemble(out: str, composed: Node, placed: _Comments, entries: list[_Entry]) -> str:
    lines = out.split("\n")[:-1]  # the emitter ends the text with a line break
    # Trailing spaces go, except in block scalars, where they are data.
    keep = {
        line
        for node in _nodes(composed)
        if isinstance(node, ScalarNode) and node.style in ("|", ">")
        for line in range(node.start_mark.line + 1, _last_line(node) + 1)
    }
    lines = [line if i in keep else line.rstrip() for i, line in enumerate(lines)]
    inserts: dict[int, Block] = {0: list(placed.head), len(lines): list(placed.tail)}
    at_eol: dict[int, tuple[int, str]] = {}
    containers: dict[int, Node] = {}
    for mine, theirs in zip(entries, _entries(composed), strict=True):
        containers[id(mine.container)] = theirs.container
        line = theirs.line
        indent = len(lines[line]) - len(lines[line].lstrip())
        for number, _, body in placed.lead.get(mine.ident, []):
            inserts.setdefault(line, []).append((number, indent, body))
        if isinstance(theirs.value, ScalarNode) and theirs.value.style not in ("|", ">"):
            line = _last_line(theirs.value)  # after a wrapped scalar, not inside it
        for number, col, body in placed.eol.get(mine.ident, []):
            if line in at_eol:  # two comments for one line: the second goes above it
                inserts.setdefault(theirs.line, []).append((number, indent, body))
            else:
                at_eol[line] = (col, body)
    for ident, block in placed.trail.items():
        container = containers[ident]
        first = container.value[0][0] if isinstance(container, MappingNode) else container
        after = _last_line(container) + 1
        inserts.setdefault(after, []).extend((n, first.start_mark.column, b) for n, _, b in block)
    for line, (col, body) in at_eol.items():
        # The author's column, so hand-aligned comments stay aligned; else two spaces.
        lines[line] += " " * max(col - len(lines[line]), 2) + body
    result: list[str] = []
    for index in range(len(lines) + 1):
        block = sorted(inserts.get(index, []), key=lambda item: item[0])
        for position, (_, indent, body) in enumerate(block):
            if body:
                result.append(" " * indent + body)
            elif result and result[-1] and not _opens(result[-1], block[position:], lines, index):
                result.append("")  # one blank line at most; none at the top or under `key:`
        result.extend(lines[index : index + 1])
    while result and not result[-1]:
        result.pop()
    return "\n".join(result) + "\n"


def _opens(previous: str, block: Block, lines: list[str], index: int) -> bool:
    """Whether `previous` is a `key:` (or `-`) line whose children follow, deeper."""
    upcoming = [indent for _, indent, body in block if body]
    upcoming += [len(line) - len(line.lstrip()) for line in lines[index : index + 1]]
    opener = previous.split(" #")[0].rstrip().endswith((":", "-"))
    return opener and bool(upcoming) and upcoming[0] > len(previous) - len(previous.lstrip())


def format_text(text: str, display: str) -> str:
    """`text` in the canonical layout; InputError (positioned) for what the loader refuses."""
    before = load_yaml_text(text, display)  # the loader's checks and errors, unchanged
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    root = _yaml().compose(text)
    for node in _nodes(root):
        node.comment = None  # comments are placed by this module, not by ruamel
        if isinstance(node, ScalarNode) and node.style == ">":
            # ruamel marks each folded line break with \a; its emitter only understands
            # the marks that stand for a fold into a space.
            node.value = re.sub("\a(?! \\S)", "", node.value)
    comments = _comment_lines(text, root)
    placed = _place(comments, _entries(root))
    _order(root, _top_model(root))
    out, composed = _serialize(root)
    result = _assemble(out, composed, placed, _entries(root))
    _verify(before.data, _bodies(comments), result, display)
    return result


def _bodies(comments: list[tuple[int, int, str, bool]]) -> Counter[str]:
    return Counter(body for _, _, body, _ in comments if body)


def _verify(data: Any, comments: Counter[str], result: str, display: str) -> None:
    """Refuse a result that reads differently or lost a comment: better no output."""
    problem = None
    try:
        if load_yaml_text(result, display).data != data:
            problem = "formatting would change the data"
        elif _bodies(_comment_lines(result, _yaml().compose(result))) != comments:
            problem = "formatting would lose or change a comment"
    except InputError:
        problem = "formatting would produce invalid YAML"
    if problem:
        message = f"internal error: {problem}; file left as it is"
        raise FormatError([Diagnostic(display, 0, 0, Severity.ERROR, message, "fmt-internal")])
