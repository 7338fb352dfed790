"""The text of handoff tasks (routing.yaml `tasks`): a subject and a body with placeholders.

Placeholders are data, a fixed set: `{account}`, `{new_owner}`, ... each replaced by a
value, once, left to right; `{{` and `}}` are literal braces. A small scanner of our own
does it, never `str.format` (which reaches attributes and indexes: `{0.__class__}`) nor
a template engine, so no rule-file text ever runs, and a value that itself looks like a
placeholder (an account named "{route}") is written as it is, never expanded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from roleSync.rules.suggest import close_match

# The placeholders a task's text may use, and what each becomes (docs, messages).
PLACEHOLDERS: Mapping[str, str] = {
    "account": "the account's name",
    "account_id": "the account's CRM id",
    "previous_owner": "the previous owner's name (their id when they have none)",
    "new_owner": "the new owner's name (their id when they have none)",
    "trigger": "the trigger that fired, e.g. first_won_new_business",
    "trigger_date": "the day the trigger fired (YYYY-MM-DD)",
    "route": "the id of the route that picked the new owner",
    "due_date": "the task's due date (YYYY-MM-DD)",
}

# What the CRMs hold: Salesforce Task.Subject is 255 characters, Description 32,000
# (HubSpot's task subject and body take more). Longer filled text is cut with an ellipsis.
SUBJECT_LIMIT = 255
BODY_LIMIT = 32_000
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str


Part = str | Placeholder


class TemplateError(Exception):
    """Where a task text is wrong: `offset` into the text, the offending `token` there."""

    def __init__(self, offset: int, token: str, message: str, code: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.token = token
        self.message = message
        self.code = code


def _unknown(name: str, offset: int) -> TemplateError:
    token = "{" + name + "}"
    match = close_match(name.strip(), PLACEHOLDERS)
    hint = (
        f"; did you mean {{{match}}}?"
        if match
        else "; known: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    )
    return TemplateError(offset, token, f"unknown placeholder {token}{hint}", "unknown-placeholder")


def parse_template(text: str) -> tuple[Part, ...]:
    """The literal runs and placeholders of `text`; TemplateError at the first mistake:
    an unknown placeholder, or a brace that neither opens one nor is doubled."""
    parts: list[Part] = []
    literal: list[str] = []
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char not in "{}":
            stop = at
            while stop < end and text[stop] not in "{}":
                stop += 1
            literal.append(text[at:stop])
            at = stop
            continue
        if at + 1 < end and text[at + 1] == char:  # {{ or }}: one literal brace
            literal.append(char)
            at += 2
            continue
        if char == "}":
            raise TemplateError(
                at, "}", "unbalanced '}': write '}}' for a literal brace", "unbalanced-brace"
            )
        close = text.find("}", at + 1)
        opens = text.find("{", at + 1)
        if close < 0 or 0 <= opens < close:
            raise TemplateError(
                at,
                "{",
                "unbalanced '{': close the placeholder with '}', or write '{{' for a literal brace",
                "unbalanced-brace",
            )
        name = text[at + 1 : close]
        if name not in PLACEHOLDERS:
            raise _unknown(name, at)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(name))
        at = close + 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def fill(parts: tuple[Part, ...], values: Mapping[str, str]) -> str:
    """The text with each placeholder replaced by its value (values are never rescanned)."""
    return "".join(values[p.name] if isinstance(p, Placeholder) else p for p in parts)


def cut(text: str, limit: int) -> str:
    """`text`, or its first characters and an ellipsis when longer than `limit`."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


_BREAKS = {ord(c): " " for c in "\r\n\t\v\f\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """A subject is one line: line breaks and tabs (in names, say) become spaces."""
    return text.translate(_BREAKS)
