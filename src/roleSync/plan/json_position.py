"""Where a value sits in a JSON text: the line and column of a pydantic error's `loc`.

pydantic reports where in the data a plan is wrong (`changes.3.account_id`), not where
in the file. This walks the text along that path, without building the data and
without recursion (the text parsed already, so it is well formed and not too deep).
Linear in the text up to the value found; used on the error path only.
"""

from __future__ import annotations

import json
import re

_SPACE = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# Inside a container being skipped: its strings (which may hold brackets) and brackets.
_SKIP_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SCALAR = re.compile(r"[^,\]}\s]*")


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def value_position(text: str, loc: tuple[str | int, ...]) -> tuple[int, int, int]:
    """(line, column, parts found): where the value at `loc` (keys and list indexes)
    starts, or the deepest part of it found (pydantic also puts union member names into
    `loc`, and a missing key is not in the text)."""
    at = _skip_space(text, 0)
    found = 0
    for part in loc:
        member = _member(text, at, part)
        if member is None:
            break
        at, found = member, found + 1
    return (*line_column(text, at), found)


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _member(text: str, at: int, part: str | int) -> int | None:
    """Where the value of key or index `part` of the container at `at` starts."""
    opening = text[at : at + 1]
    if opening == "{" and isinstance(part, str):
        return _object_member(text, at, part)
    if opening == "[" and isinstance(part, int):
        return _array_item(text, at, part)
    return None


def _object_member(text: str, at: int, key: str) -> int | None:
    at = _skip_space(text, at + 1)
    while text[at : at + 1] == '"':
        token = _STRING.match(text, at)
        if token is None:
            return None
        at = _skip_space(text, token.end())
        if text[at : at + 1] != ":":
            return None
        value = _skip_space(text, at + 1)
        if json.loads(token.group()) == key:
            return value
        at = _skip_space(text, _skip_value(text, value))
        if text[at : at + 1] != ",":
            return None
        at = _skip_space(text, at + 1)
    return None


def _array_item(text: str, at: int, index: int) -> int | None:
    at = _skip_space(text, at + 1)
    for _ in range(index):
        if text[at : at + 1] in ("]", ""):
            return None
        at = _skip_space(text, _skip_value(text, at))
        if text[at : at + 1] != ",":
            return None
        at = _skip_space(text, at + 1)
    return None if text[at : at + 1] in ("]", "") else at


def _skip_value(text: str, at: int) -> int:
    """The offset just after the value starting at `at`."""
    first = text[at : at + 1]
    if first == '"':
        token = _STRING.match(text, at)
        return token.end() if token else len(text)
    if first not in ("[", "{"):
        scalar = _SCALAR.match(text, at)
        return scalar.end() if scalar else at
    depth = 0
    for token in _SKIP_TOKEN.finditer(text, at):
        kind = token.group()
        if kind in ("[", "{"):
            depth += 1
        elif kind in ("]", "}"):
            depth -= 1
            if depth == 0:
                return token.end()
    return len(text)
