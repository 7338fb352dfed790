"""SOQL tokens: strings with SOQL escapes, numbers, dates, datetimes, names, operators.

Also the error every SOQL stage raises, laid out the way Salesforce lays it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SoqlError(Exception):
    """A query Salesforce would refuse: an errorCode and its message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def located(text: str, pos: int, detail: str) -> str:
    """Salesforce's error layout: the query line, a caret, Row:Column, the detail."""
    row = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end != -1 else len(text)]
    column = pos - start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"


class Kind(StrEnum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    OP = "operator"
    PUNCT = "punctuation"
    EOF = "<EOF>"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    pos: int
    # The unescaped value of a string literal, or its raw body for LIKE patterns.
    value: str = ""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
    | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_KINDS = {
    "datetime": Kind.DATETIME,
    "date": Kind.DATE,
    "number": Kind.NUMBER,
    "ident": Kind.IDENT,
    "op": Kind.OP,
    "punct": Kind.PUNCT,
}


def unescape(text: str, body: str, start: int) -> str:
    """Resolve SOQL escapes (\\n \\' \\\\ ...; \\% and \\_ stay literal characters)."""
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            follower = body[index + 1 : index + 2]
            if follower.lower() in _ESCAPES:
                out.append(_ESCAPES[follower.lower()])
            elif follower in "%_" and follower:
                out.append(follower)
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    located(
                        text,
                        start + index,
                        f"Invalid string literal '{body}'. Illegal character sequence "
                        f"'\\{follower}' in string literal.",
                    ),
                )
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "'":
            end = pos + 1
            while end < len(text) and text[end] != "'":
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise SoqlError(
                    "MALFORMED_QUERY", located(text, pos, "unexpected token: unterminated string")
                )
            body = text[pos + 1 : end]
            tokens.append(Token(Kind.STRING, text[pos : end + 1], pos, body))
            pos = end + 1
            continue
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise SoqlError(
                "MALFORMED_QUERY",
                located(
                    text, pos, f"line 1:{pos} no viable alternative at character '{text[pos]}'"
                ),
            )
        if match.lastgroup != "ws":
            tokens.append(Token(_KINDS[match.lastgroup], match.group(), pos))
        pos = match.end()
    tokens.append(Token(Kind.EOF, "<EOF>", len(text)))
    return tokens
