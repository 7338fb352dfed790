"""How deep a YAML text nests, found by a cheap scan of the text, before any parser runs.

ruamel.yaml parses and composes recursively: 1,000 nested brackets end in a
RecursionError, and 20,000 unclosed ones kept its scanner busy for minutes. No real rule
file, rule test, profile or fault file nests deeper than about ten levels, so texts
nested deeper than MAX_DEPTH are refused here, in one pass over the text (linear time),
with the position where the limit is crossed.

The scan is not a YAML parser; it counts the two ways YAML nests:
- flow collections, `[` and `{`, outside quoted scalars and comments;
- block collections, by indentation: each `- ` entry and each `key:` opens a level at
  its column, closed by a later line at a smaller column.
It may count a level more than a parser would (a plain scalar's continuation line that
starts with `- `), never fewer for the constructs that make parsers recurse, which is
all a limit this far above real files needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DEPTH = 64

# What the scan stops at in a line: everything else is part of a plain scalar.
_SIGNIFICANT = re.compile(r"[#\"'\[\]{},:|>]")
_DOUBLE_QUOTED_REST = re.compile(r'(?:[^"\\]|\\.)*"')
_SINGLE_QUOTED_REST = re.compile(r"(?:[^']|'')*'")
_BLANKS = " \t"


@dataclass(frozen=True, slots=True)
class TooDeep:
    """Where the text first nests deeper than `limit` (1-based line and column)."""

    line: int
    column: int
    limit: int

    @property
    def message(self) -> str:
        return f"YAML nested deeper than {self.limit} levels; refused before parsing"


@dataclass(slots=True)
class _Scan:
    limit: int
    flow: int = 0  # open flow collections
    quote: str | None = None  # the quote of a quoted scalar spanning lines
    # Open block collections, innermost last: (column, is a sequence).
    block: list[tuple[int, bool]] = field(default_factory=list)
    # The column a block scalar's (`|`, `>`) content is indented beyond, while in one.
    block_scalar: int | None = None

    def enter_block(self, column: int, sequence: bool) -> bool:
        """A `- ` entry or a `key:` at `column`; True when that nests too deep."""
        block = self.block
        while block and (
            block[-1][0] > column or (block[-1][0] == column and block[-1][1] and not sequence)
        ):
            block.pop()  # a key at a sequence's column ends the sequence
        if block and block[-1] == (column, sequence):
            return False  # one more entry of the same collection
        block.append((column, sequence))
        return len(block) + self.flow > self.limit


def too_deep(text: str, limit: int = MAX_DEPTH) -> TooDeep | None:
    """Where `text` nests deeper than `limit` levels, or None. Linear in the text."""
    scan = _Scan(limit)
    for number, line in enumerate(text.split("\n")):
        found = _line(scan, line.rstrip("\r"))
        if found is not None:
            return TooDeep(number + 1, found + 1, limit)
    return None


def _line(scan: _Scan, line: str) -> int | None:
    """Scan one line; the 0-based column where it nests too deep, else None."""
    indent = len(line) - len(line.lstrip(" "))
    if scan.block_scalar is not None:
        if indent > scan.block_scalar or not line.strip():
            return None  # text of a literal or folded scalar
        scan.block_scalar = None
    if scan.quote is not None or scan.flow:
        return _rest(scan, line, 0, None, indent)
    stripped = line[indent:]
    if not stripped or stripped.startswith(("#", "%")):
        return None
    if indent == 0 and line.startswith(("---", "...")) and line[3:4] in ("", " ", "\t"):
        scan.block.clear()  # a new document
        return _rest(scan, line, 3, None, 0)
    column = indent
    node = indent
    # `- `, `? ` indicators, possibly several on one line (`- - - x`): a level each.
    while (
        column < len(line) and line[column] in "-?" and line[column + 1 : column + 2] in ("", " ")
    ):
        if scan.enter_block(column, line[column] == "-"):
            return column
        node = column
        column += 1
        while column < len(line) and line[column] in _BLANKS:
            column += 1
    return _rest(scan, line, column, column, node)


def _rest(scan: _Scan, line: str, start: int, key: int | None, node: int) -> int | None:
    """Flow brackets, quotes, comments and the first `key:` from `start` on.

    `key`: the column of a block mapping key this line may hold (None inside flow);
    `node`: the column a block scalar starting on this line is indented beyond."""
    at_node_start = True  # where a quoted scalar or a flow collection may begin
    i = start
    end = len(line)
    while i < end:
        if scan.quote is not None:
            pattern = _DOUBLE_QUOTED_REST if scan.quote == '"' else _SINGLE_QUOTED_REST
            closed = pattern.match(line, i)
            if closed is None:
                return None  # the quoted scalar goes on on the next line
            scan.quote = None
            at_node_start = False
            i = closed.end()
            continue
        found = _SIGNIFICANT.search(line, i)
        if found is None:
            return None
        if line[i : found.start()].strip(_BLANKS):
            at_node_start = False  # a plain scalar ran up to here
        i = found.start()
        char = line[i]
        if char == "#":
            if i == 0 or line[i - 1] in _BLANKS:
                return None  # a comment
            at_node_start = False
        elif char in "\"'":
            if at_node_start:
                scan.quote = char
            else:
                at_node_start = False
        elif char in "[{":
            if scan.flow or at_node_start:
                scan.flow += 1
                if len(scan.block) + scan.flow > scan.limit:
                    return i
                at_node_start = True
        elif char in "]}":
            if scan.flow:
                scan.flow -= 1
            at_node_start = False
        elif char == ",":
            at_node_start = bool(scan.flow)
        elif char == ":":
            following = line[i + 1 : i + 2]
            if following in ("", " ", "\t") or (scan.flow and following in ",[]{}"):
                if key is not None and not scan.flow:
                    if scan.enter_block(key, False):
                        return key
                    node, key = key, None
                at_node_start = True
            else:
                at_node_start = False
        elif char in "|>":
            if at_node_start and not scan.flow:
                scan.block_scalar = node
                return None  # the rest is the block scalar's header
            at_node_start = False
        i += 1
    return None
