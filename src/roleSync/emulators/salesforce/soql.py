"""A recursive-descent parser for the SOQL subset roleSync emits.

    SELECT f1, f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC]
        [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Conditions: = != <> < <= > >= IN (...) NOT IN (...) LIKE, AND/OR/NOT and
parentheses. Like Salesforce, AND and OR may not be mixed at one level without
parentheses. Values: 'strings' with SOQL escapes, numbers, true/false/null, date
literals (2024-01-01) and unquoted datetimes (2024-01-01T00:00:00Z or +hh:mm).

Nothing here knows the org's fields: `soql_eval` binds the tree to the schema.
Syntax errors raise SoqlError(MALFORMED_QUERY) with Salesforce's caret message, and so
do conditions nested deeper than MAX_CONDITION_DEPTH (parentheses and NOTs), before the
parser's recursion (or the evaluator's, over the tree) could run out of stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from roleSync.emulators.salesforce.schema import FieldValueError, parse_datetime
from roleSync.emulators.salesforce.soql_lexer import (
    Kind,
    SoqlError,
    Token,
    located,
    tokenize,
    unescape,
)

# Parentheses and NOTs nested deeper than this are refused (real filters nest a few).
MAX_CONDITION_DEPTH = 64

# --- the tree --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | float | int | bool | date | datetime | None
    pos: int
    # For string literals: the body as written, so LIKE can tell \% from %.
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    field: Name
    op: str  # = != < <= > >= IN NOT IN LIKE
    values: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Condition, ...]


Condition = Comparison | Not | BoolOp


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: Name
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    fields: tuple[Name, ...]  # empty for COUNT()
    count_only: bool
    sobject: Name
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


_RESERVED = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "true",
        "false",
        "null",
        "count",
    ]
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0  # parentheses and NOTs open around the current token

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def fail(self, token: Token | None = None) -> SoqlError:
        token = token or self.current
        return SoqlError(
            "MALFORMED_QUERY", located(self.text, token.pos, f"unexpected token: {token.text}")
        )

    def advance(self) -> Token:
        token = self.current
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.current
        return token.kind is Kind.IDENT and token.text.lower() in words

    def keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.fail()
        return self.advance()

    def punct(self, char: str) -> Token:
        if self.current.kind is not Kind.PUNCT or self.current.text != char:
            raise self.fail()
        return self.advance()

    def name(self) -> Name:
        token = self.current
        if token.kind is not Kind.IDENT or token.text.lower() in _RESERVED:
            raise self.fail()
        self.advance()
        return Name(token.text, token.pos)

    def integer(self) -> int:
        token = self.current
        if token.kind is not Kind.NUMBER or not token.text.isdigit():
            raise self.fail()
        self.advance()
        return int(token.text)

    def query(self) -> Query:
        self.keyword("select")
        count_only = False
        fields: list[Name] = []
        if self.at_keyword("count") and self.tokens[self.index + 1].text == "(":
            self.advance()
            self.punct("(")
            self.punct(")")
            count_only = True
        else:
            fields.append(self.name())
            while self.current.text == ",":
                self.advance()
                fields.append(self.name())
        self.keyword("from")
        sobject = self.name()
        where = None
        if self.at_keyword("where"):
            self.advance()
            where = self.condition()
        order: list[OrderItem] = []
        if self.at_keyword("order"):
            self.advance()
            self.keyword("by")
            order.append(self.order_item())
            while self.current.text == ",":
                self.advance()
                order.append(self.order_item())
        limit = offset = None
        if self.at_keyword("limit"):
            self.advance()
            limit = self.integer()
        if self.at_keyword("offset"):
            self.advance()
            offset = self.integer()
        if self.current.kind is not Kind.EOF:
            raise self.fail()
        return Query(
            self.text, tuple(fields), count_only, sobject, where, tuple(order), limit, offset
        )

    def order_item(self) -> OrderItem:
        field = self.name()
        descending = False
        if self.at_keyword("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        nulls_first = not descending  # Salesforce's default
        if self.at_keyword("nulls"):
            self.advance()
            if not self.at_keyword("first", "last"):
                raise self.fail()
            nulls_first = self.advance().text.lower() == "first"
        return OrderItem(field, descending, nulls_first)

    def condition(self) -> Condition:
        operands = [self.unary()]
        joiner: str | None = None
        while self.at_keyword("and", "or"):
            token = self.current
            word = token.text.upper()
            if joiner is not None and word != joiner:
                # Salesforce demands parentheses when AND and OR meet.
                raise self.fail(token)
            joiner = word
            self.advance()
            operands.append(self.unary())
        return operands[0] if joiner is None else BoolOp(joiner, tuple(operands))

    def unary(self) -> Condition:
        if self.at_keyword("not"):
            self.deeper()
            operand = self.unary()
            self.depth -= 1
            return Not(operand)
        if self.current.text == "(" and self.current.kind is Kind.PUNCT:
            self.deeper()
            inner = self.condition()
            self.punct(")")
            self.depth -= 1
            return inner
        return self.comparison()

    def deeper(self) -> None:
        """Step past a NOT or an opening parenthesis, refusing one level too many."""
        if self.depth == MAX_CONDITION_DEPTH:
            detail = f"conditions nested deeper than {MAX_CONDITION_DEPTH} levels"
            raise SoqlError("MALFORMED_QUERY", located(self.text, self.current.pos, detail))
        self.depth += 1
        self.advance()

    def comparison(self) -> Comparison:
        field = self.name()
        token = self.current
        if token.kind is Kind.OP:
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(field, op, (self.literal(),))
        if self.at_keyword("like"):
            self.advance()
            return Comparison(field, "LIKE", (self.literal(),))
        negated = False
        if self.at_keyword("not"):
            self.advance()
            negated = True
        if not self.at_keyword("in"):
            raise self.fail()
        self.advance()
        self.punct("(")
        values = [self.literal()]
        while self.current.text == ",":
            self.advance()
            values.append(self.literal())
        self.punct(")")
        return Comparison(field, "NOT IN" if negated else "IN", tuple(values))

    def literal(self) -> Literal:
        token = self.advance()
        if token.kind is Kind.STRING:
            body = token.value
            return Literal(unescape(self.text, body, token.pos + 1), token.pos, body)
        if token.kind is Kind.NUMBER:
            number = float(token.text)
            return Literal(int(number) if "." not in token.text else number, token.pos)
        if token.kind is Kind.DATE:
            try:
                return Literal(date.fromisoformat(token.text), token.pos)
            except ValueError:
                raise self.fail(token) from None
        if token.kind is Kind.DATETIME:
            try:
                return Literal(parse_datetime(token.text), token.pos)
            except FieldValueError:
                raise self.fail(token) from None
        if token.kind is Kind.IDENT and token.text.lower() in {"true", "false", "null"}:
            word = token.text.lower()
            return Literal(None if word == "null" else word == "true", token.pos)
        raise self.fail(token)


def parse(text: str) -> Query:
    """Parse one SOQL statement; raises SoqlError(MALFORMED_QUERY) on bad syntax."""
    return _Parser(text).query()
