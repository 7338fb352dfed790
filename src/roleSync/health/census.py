"""What book health needs to know about a book, gathered by SQL into one value.

Every source ends in the local-book SQLite format (the local book, and the mirror each
CRM adapter pulls into), so one census covers all of them. It only counts and samples:
judging the counts is `roleSync.health.evaluate`'s job, which is pure.

Built to stay cheap on a book of millions of deals: one flat pass over the deals
gathers every count at once, and the slower questions (which unmapped values, which
example ids, which colliding ids) are asked only when that pass found something. The
raw values the profile maps are given to the pass, so that a sort by value happens
only over the rows that are not mapped, never over the whole table.

The census never opens a transaction: the caller reads it in one (`snapshot`), or runs
it inside its own (CSV import, before committing).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from roleSync.adapters.local_store import RELATED_TABLES, tables_of
from roleSync.adapters.mirror import NO_ACCOUNT_PREFIX
from roleSync.profile.common import normalized

EXAMPLES = 3
_SPACES = "' ' || char(9) || char(10) || char(13)"


def _id_normal(case_sensitive: bool) -> str:
    """An id as compared for collisions: surrounding spaces removed, runs of inner spaces
    (up to 8) collapsed to one and, unless ids are case-sensitive, ASCII case folded."""
    trimmed = f"trim(replace(id, char(9), ' '), {_SPACES})"
    folded = trimmed if case_sensitive else f"lower({trimmed})"
    return f"replace(replace(replace({folded}, '  ', ' '), '  ', ' '), '  ', ' ')"


def _odd_id(case_sensitive: bool) -> str:
    """Ids that may collide with another: not in normal form (cheap to test on every row)."""
    spaced = "instr(id, ' ') > 0 OR instr(id, char(9)) > 0"
    return f"({spaced})" if case_sensitive else f"(id != lower(id) OR {spaced})"


@dataclass(frozen=True, slots=True)
class Affected:
    """Rows a question found: how many, and a few of their ids."""

    count: int = 0
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueCount:
    """One raw value of a column, the rows that hold it, and a few of their ids."""

    value: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Collision:
    """Ids of one table that are the same once case and spaces are normalised."""

    table: str
    normal: str
    count: int
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AmountRange:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class BookCensus:
    owners: int = 0
    accounts: int = 0
    deals: int = 0
    closed_deals: int = 0
    won_deals: int = 0
    # Non-blank raw values the profile does not map (None: not asked).
    unmapped_kinds: tuple[ValueCount, ...] = ()
    unmapped_stages: tuple[ValueCount, ...] | None = None
    unmapped_lifecycles: tuple[ValueCount, ...] = ()
    # Deals whose account is not in the book; deals and accounts whose owner is not.
    unknown_account: Affected = field(default_factory=Affected)
    deal_unknown_owner: Affected = field(default_factory=Affected)
    account_unknown_owner: Affected = field(default_factory=Affected)
    missing_amount: Affected = field(default_factory=Affected)  # won deals
    missing_close_date: Affected = field(default_factory=Affected)  # closed deals
    below_min: Affected = field(default_factory=Affected)
    above_max: Affected = field(default_factory=Affected)  # infinity included
    not_a_number: Affected = field(default_factory=Affected)  # text where an amount goes
    collisions: tuple[Collision, ...] = ()
    amount_range: AmountRange = field(default_factory=lambda: AmountRange(0.0, 1e12))
    # The records that belong to an account (none in a book written before them).
    contacts: int = 0
    tasks: int = 0
    contact_unknown_account: Affected = field(default_factory=Affected)
    task_unknown_account: Affected = field(default_factory=Affected)
    contact_unknown_owner: Affected = field(default_factory=Affected)
    task_unknown_owner: Affected = field(default_factory=Affected)


@dataclass(frozen=True, slots=True)
class CensusQuestions:
    """What the census asks, from the profile: the raw values it maps (any case and
    spacing), whether stages decide the outcome of deals, and the amount bounds."""

    mapped_kinds: Collection[str]
    mapped_lifecycles: Collection[str]
    mapped_stages: Collection[str] | None
    amount_range: AmountRange
    # Salesforce's 15-character ids differ by case alone: such books compare ids as they are.
    ids_case_sensitive: bool = False


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


def _examples(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> Affected:
    ids = tuple(str(row[0]) for row in conn.execute(f"{sql} LIMIT {EXAMPLES}", params))
    return Affected(len(ids), ids)


def _affected(
    conn: sqlite3.Connection, count: int, where: str, params: tuple[object, ...] = ()
) -> Affected:
    """`count` rows of deals match `where`: a few of their ids (asked only if any)."""
    if not count:
        return Affected()
    return Affected(count, _examples(conn, f"SELECT id FROM deals WHERE {where}", params).examples)


def _spellings(mapped: Collection[str]) -> list[str]:
    """The mapped values as written and in normal form: rows holding exactly one of these
    are mapped, so only the others need grouping by value."""
    return sorted({*mapped, *(normalized(m) for m in mapped)})


def _unmapped(
    conn: sqlite3.Connection, table: str, column: str, mapped: Collection[str]
) -> tuple[ValueCount, ...]:
    """Non-blank values of `table.column` whose normal form is not mapped, with their
    counts and example ids. SQL only sets aside the exact spellings of mapped values;
    the profile's own normalisation (case and spaces) decides about the rest."""
    spellings = _spellings(mapped)
    rows = conn.execute(
        f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL "
        f"AND {column} NOT IN ({_marks(spellings)}) GROUP BY {column}",
        spellings,
    ).fetchall()
    wanted = {normalized(m) for m in mapped}
    found: dict[str, list[tuple[str, int]]] = {}
    for value, count in rows:
        text = str(value)
        key = normalized(text)
        if key and key not in wanted:
            found.setdefault(key, []).append((text, int(count)))
    tallies = []
    for variants in found.values():
        # Spellings of one value that differ in case or spaces are one finding.
        variants.sort(key=lambda item: (-item[1], item[0]))
        ids = conn.execute(
            f"SELECT id FROM {table} WHERE {column} IN ({_marks(variants)}) LIMIT {EXAMPLES}",
            [v for v, _ in variants],
        ).fetchall()
        total = sum(c for _, c in variants)
        tallies.append(ValueCount(variants[0][0], total, tuple(str(i) for (i,) in ids)))
    return tuple(sorted(tallies, key=lambda t: (-t.count, t.value)))


def _unknown_owner(conn: sqlite3.Connection, table: str, owners: set[str]) -> Affected:
    # Walks the owner index (counts only): a few thousand groups, however big the table.
    rows = conn.execute(
        f"SELECT owner_id, count(*) FROM {table} WHERE owner_id IS NOT NULL AND owner_id != '' "
        "GROUP BY owner_id"
    ).fetchall()
    unknown = sorted((str(o), int(n)) for o, n in rows if o not in owners)
    if not unknown:
        return Affected()
    examples: list[str] = []
    for owner, _ in unknown[:EXAMPLES]:
        (first,) = conn.execute(f"SELECT min(id) FROM {table} WHERE owner_id = ?", (owner,))
        examples.append(str(first[0]))
    return Affected(sum(n for _, n in unknown), tuple(examples))


def _unknown_account(conn: sqlite3.Connection, table: str = "deals") -> Affected:
    # One lookup per distinct account of the table (through the account index), not one
    # per row. Deals a CRM sent without an account (NO_ACCOUNT_PREFIX) are left out, and
    # contacts and tasks with none (a blank account is allowed to them).
    # A constant clause: a deal always names an account (a blank one is unknown).
    given = "" if table == "deals" else "WHERE account_id IS NOT NULL AND account_id != '' "
    rows = conn.execute(
        f"SELECT g.account_id, g.n FROM (SELECT account_id, count(*) AS n FROM {table} "
        f"{given}GROUP BY account_id) AS g WHERE NOT EXISTS "
        "(SELECT 1 FROM accounts AS a WHERE a.id = g.account_id) "
        "AND substr(g.account_id, 1, ?) != ?",
        (len(NO_ACCOUNT_PREFIX), NO_ACCOUNT_PREFIX),
    ).fetchall()
    if not rows:
        return Affected()
    examples: list[str] = []
    for account, _ in rows[:EXAMPLES]:
        (first,) = conn.execute(f"SELECT min(id) FROM {table} WHERE account_id = ?", (account,))
        examples.append(str(first[0]))
    return Affected(sum(int(n) for _, n in rows), tuple(examples))


def _collisions(
    conn: sqlite3.Connection, table: str, case_sensitive: bool
) -> tuple[Collision, ...]:
    """Ids equal once normalised. One of two colliding ids is not in normal form, so only
    those are grouped (usually none), each checked against the table's key as well."""
    normal = _id_normal(case_sensitive)
    rows = conn.execute(
        f"WITH c AS (SELECT id, {normal} AS n FROM {table} WHERE id != {normal}) "
        "SELECT n, count(*) + EXISTS (SELECT 1 FROM "
        f"{table} AS t WHERE t.id = c.n), group_concat(id, char(31)) FROM c GROUP BY n "
        f"HAVING count(*) > 1 OR EXISTS (SELECT 1 FROM {table} AS t WHERE t.id = c.n) "
        "ORDER BY n"
    ).fetchall()
    found = []
    for normal, count, ids in rows:
        members = sorted(set(str(ids).split("\x1f")))
        if int(count) > len(members):
            members.insert(0, str(normal))
        found.append(Collision(table, str(normal), int(count), tuple(members[:EXAMPLES])))
    return tuple(found)


def _odd_ids(conn: sqlite3.Connection, table: str, case_sensitive: bool) -> int:
    (count,) = conn.execute(
        f"SELECT count(*) FROM {table} WHERE {_odd_id(case_sensitive)}"
    ).fetchone()
    return int(count)


def _suspicious_deals(
    conn: sqlite3.Connection, kinds: list[str], low: float, high: float, case_sensitive: bool
) -> tuple[int, ...]:
    """Counts of deals with each possible problem, in one pass that only tallies the
    rows with some problem (sums over every row cost several times the scan). A text
    amount compares above every number in SQLite: `amount > high` counts it too, and
    it is taken off again."""
    conditions = (
        (f"kind NOT IN ({_marks(kinds)})", tuple(kinds)),
        ("won != 0 AND amount IS NULL", ()),
        ("closed != 0 AND (close_date IS NULL OR close_date = '')", ()),
        ("amount < ?", (low,)),
        ("amount > ?", (high,)),
        ("typeof(amount) IN ('text', 'blob')", ()),
        (_odd_id(case_sensitive), ()),
    )
    tallies = ", ".join(f"coalesce(sum({c}), 0)" for c, _ in conditions)
    # The text test is implied by `amount > high`: left out of the filter.
    where = " OR ".join(f"({c})" for i, (c, _) in enumerate(conditions) if i != 5)
    params = [p for _, ps in conditions for p in ps]
    where_params = [p for i, (_, ps) in enumerate(conditions) if i != 5 for p in ps]
    row = conn.execute(
        f"SELECT {tallies} FROM deals WHERE {where}", [*params, *where_params]
    ).fetchone()
    odd_kinds, no_amount, no_close, below, above, text, odd_ids = (int(v) for v in row)
    return odd_kinds, no_amount, no_close, below, above - text, text, odd_ids


def take_census(conn: sqlite3.Connection, questions: CensusQuestions) -> BookCensus:
    """Count what book health judges. Reads only; opens no transaction (see module doc)."""
    low, high = questions.amount_range.low, questions.amount_range.high
    kinds = _spellings(questions.mapped_kinds)
    (deals, closed, won) = conn.execute(
        "SELECT count(*), coalesce(sum(closed != 0), 0), coalesce(sum(won != 0), 0) FROM deals"
    ).fetchone()
    case = questions.ids_case_sensitive
    odd_kinds, no_amount, no_close, below, above, text, odd_ids = _suspicious_deals(
        conn, kinds, low, high, case
    )
    owner_ids = {str(i) for (i,) in conn.execute("SELECT id FROM owners")}
    (accounts,) = conn.execute("SELECT count(*) FROM accounts").fetchone()
    collisions = _collisions(conn, "owners", case)
    if _odd_ids(conn, "accounts", case):
        collisions += _collisions(conn, "accounts", case)
    if odd_ids:
        collisions += _collisions(conn, "deals", case)
    stages = questions.mapped_stages
    related = _related(conn, owner_ids)
    return BookCensus(
        owners=len(owner_ids),
        accounts=int(accounts),
        deals=int(deals),
        closed_deals=int(closed),
        won_deals=int(won),
        unmapped_kinds=_unmapped(conn, "deals", "kind", questions.mapped_kinds)
        if odd_kinds
        else (),
        unmapped_stages=None if stages is None else _unmapped(conn, "deals", "stage", stages),
        unmapped_lifecycles=_unmapped(conn, "accounts", "lifecycle", questions.mapped_lifecycles),
        unknown_account=_unknown_account(conn),
        deal_unknown_owner=_unknown_owner(conn, "deals", owner_ids),
        account_unknown_owner=_unknown_owner(conn, "accounts", owner_ids),
        missing_amount=_affected(conn, no_amount, "won != 0 AND amount IS NULL"),
        missing_close_date=_affected(
            conn, no_close, "closed != 0 AND (close_date IS NULL OR close_date = '')"
        ),
        below_min=_affected(conn, below, "amount < ?", (low,)),
        above_max=_affected(
            conn, above, "amount > ? AND typeof(amount) IN ('integer', 'real')", (high,)
        ),
        not_a_number=_affected(conn, text, "typeof(amount) IN ('text', 'blob')"),
        collisions=collisions,
        amount_range=questions.amount_range,
        **related,
    )


def _related(conn: sqlite3.Connection, owner_ids: set[str]) -> dict[str, Any]:
    """The census fields of contacts and tasks, for the tables the book has."""
    present = tables_of(conn)
    found: dict[str, Any] = {}
    for table in RELATED_TABLES:
        if table not in present:
            continue  # a book written before them: none to count
        row = table.removesuffix("s")  # contact, task
        (found[table],) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        found[f"{row}_unknown_account"] = _unknown_account(conn, table)
        found[f"{row}_unknown_owner"] = _unknown_owner(conn, table, owner_ids)
    return found
