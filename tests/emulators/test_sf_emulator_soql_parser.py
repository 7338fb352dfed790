"""The SOQL subset parser and evaluator on their own: no server, no SDK."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from simple_salesforce.format import format_soql

from roleSync.emulators.salesforce.schema import Value, default_schema
from roleSync.emulators.salesforce.soql import BoolOp, Comparison, Not, parse
from roleSync.emulators.salesforce.soql_eval import compile_soql, run
from roleSync.emulators.salesforce.soql_lexer import SoqlError, tokenize

SCHEMA = default_schema()


def _rows() -> list[dict[str, Value]]:
    base: dict[str, Value] = {
        "IsDeleted": False,
        "OwnerId": None,
        "Type": None,
        "Do_Not_Route__c": False,
    }
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {**base, "Id": "001EM0000000001YAA", "Name": "Acme", "AnnualRevenue": 10.0,
         "SystemModstamp": stamp, "Type": "Prospect"},
        {**base, "Id": "001EM0000000002YAA", "Name": "acme corp", "AnnualRevenue": 5.0,
         "SystemModstamp": stamp, "Type": "Customer - Direct"},
        {**base, "Id": "001EM0000000003YAA", "Name": "O'Brien\\Sons", "AnnualRevenue": None,
         "SystemModstamp": datetime(2024, 6, 1, 12, 30, tzinfo=UTC), "Do_Not_Route__c": True},
        {**base, "Id": "001EM0000000004YAA", "Name": "100% Pure_Co", "AnnualRevenue": 7.5,
         "SystemModstamp": datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC), "IsDeleted": True},
    ]  # fmt: skip


def names(soql: str, *, include_deleted: bool = False) -> list[str]:
    bound = compile_soql(soql, SCHEMA)
    return [str(r["Name"]) for r in run(bound, _rows(), include_deleted=include_deleted)]


def test_select_list_object_and_clauses() -> None:
    query = parse("select Id, Name FROM Account WHERE Name = 'x' ORDER BY Name DESC LIMIT 5")
    assert [f.name for f in query.fields] == ["Id", "Name"]
    assert query.sobject.name == "Account"
    assert isinstance(query.where, Comparison) and query.where.op == "="
    assert query.order_by[0].descending and not query.order_by[0].nulls_first
    assert query.limit == 5


def test_boolean_structure_and_precedence_by_parentheses() -> None:
    query = parse("SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND NOT Type = null")
    assert isinstance(query.where, BoolOp) and query.where.op == "AND"
    first, second = query.where.operands
    assert isinstance(first, BoolOp) and first.op == "OR"
    assert isinstance(second, Not)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ACME'", ["Acme"]),  # text compares ignore case
        ("Name != 'Acme'", ["acme corp", "O'Brien\\Sons"]),
        ("Name <> 'Acme'", ["acme corp", "O'Brien\\Sons"]),
        ("AnnualRevenue < 10", ["acme corp"]),
        ("AnnualRevenue <= 10", ["Acme", "acme corp"]),
        ("AnnualRevenue > 5", ["Acme"]),
        ("AnnualRevenue >= 5.0", ["Acme", "acme corp"]),
        ("AnnualRevenue = null", ["O'Brien\\Sons"]),
        ("AnnualRevenue != null", ["Acme", "acme corp"]),
        ("Type IN ('prospect', 'Customer - Direct')", ["Acme", "acme corp"]),
        ("Type NOT IN ('Prospect')", ["acme corp", "O'Brien\\Sons"]),  # nulls match NOT IN
        ("Name LIKE 'acme%'", ["Acme", "acme corp"]),
        ("Name LIKE '_cme'", ["Acme"]),
        ("Do_Not_Route__c = true", ["O'Brien\\Sons"]),
        ("NOT Do_Not_Route__c = true", ["Acme", "acme corp"]),
        ("SystemModstamp > 2024-01-01T00:00:00Z", ["O'Brien\\Sons"]),
        ("SystemModstamp >= 2024-01-01T00:00:00Z", ["Acme", "acme corp", "O'Brien\\Sons"]),
        ("SystemModstamp = 2024-06-01T14:30:00+02:00", ["O'Brien\\Sons"]),
        ("SystemModstamp < 2024-06-01T12:30:00.001Z", ["Acme", "acme corp", "O'Brien\\Sons"]),
        ("Id = '001EM0000000002'", ["acme corp"]),  # 15-character Ids match too
        ("Name = 'a' OR Name = 'acme' OR AnnualRevenue = 5", ["Acme", "acme corp"]),
        ("(Name = 'acme' OR AnnualRevenue = 5) AND Type = 'Prospect'", ["Acme"]),
    ],
)
def test_each_operator(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Id, Name FROM Account WHERE {where} ORDER BY Id") == expected


def test_deleted_rows_only_with_include_deleted() -> None:
    assert "100% Pure_Co" not in names("SELECT Name FROM Account")
    assert "100% Pure_Co" in names("SELECT Name FROM Account", include_deleted=True)


def test_like_escapes_wildcards() -> None:
    soql = format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "100% Pure_")
    assert names(soql, include_deleted=True) == ["100% Pure_Co"]
    # Unescaped, % and _ are wildcards and match more.
    assert names("SELECT Name FROM Account WHERE Name LIKE '1%'", include_deleted=True)


def test_format_soql_quotes_and_backslashes_round_trip() -> None:
    soql = format_soql("SELECT Name FROM Account WHERE Name = {}", "O'Brien\\Sons")
    assert "\\'" in soql and "\\\\" in soql
    assert names(soql) == ["O'Brien\\Sons"]
    soql = format_soql("SELECT Name FROM Account WHERE Name IN {}", ["Acme", 'x\n"y"'])
    assert names(soql) == ["Acme"]


def test_format_soql_datetime_and_date_values() -> None:
    soql = format_soql(
        "SELECT Name FROM Account WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id",
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert soql.endswith("2024-01-01T00:00:00+00:00 ORDER BY SystemModstamp, Id")
    assert names(soql) == ["Acme", "acme corp", "O'Brien\\Sons"]
    query = parse(format_soql("SELECT Id FROM Opportunity WHERE CloseDate < {}", date(2024, 2, 1)))
    assert isinstance(query.where, Comparison) and query.where.values[0].value == date(2024, 2, 1)


def test_order_by_multiple_keys_keeps_ties_stable() -> None:
    by_stamp_then_id = names("SELECT Name FROM Account ORDER BY SystemModstamp, Id")
    assert by_stamp_then_id == ["Acme", "acme corp", "O'Brien\\Sons"]
    descending = names("SELECT Name FROM Account ORDER BY SystemModstamp DESC, Id DESC")
    assert descending == ["O'Brien\\Sons", "acme corp", "Acme"]


def test_nulls_order() -> None:
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue")[0] == "O'Brien\\Sons"
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue DESC")[-1] == "O'Brien\\Sons"
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue NULLS LAST")[-1] == (
        "O'Brien\\Sons"
    )
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS FIRST")[0] == (
        "O'Brien\\Sons"
    )


def test_limit_and_offset() -> None:
    assert names("SELECT Name FROM Account ORDER BY Id LIMIT 2") == ["Acme", "acme corp"]
    assert names("SELECT Name FROM Account ORDER BY Id LIMIT 1 OFFSET 1") == ["acme corp"]
    assert names("SELECT Name FROM Account LIMIT 0") == []


def test_string_escapes() -> None:
    token = tokenize(r"'a\'b\\c\nd\"e'")[0]
    query = parse(f"SELECT Id FROM Account WHERE Name = {token.text}")
    assert isinstance(query.where, Comparison)
    assert query.where.values[0].value == "a'b\\c\nd\"e"


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account WHERE Name = 'bad \\d escape'",
        "SELECT Id FROM Account WHERE Name IN ()",
        "SELECT Id FROM Account LIMIT -1",
        "SELECT Id FROM Account ORDER BY",
        'SELECT Id FROM Account WHERE Name = "double"',
        "SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00",
        "SELECT Id, Id FROM Account",
        "SELECT Id FROM Account extra",
    ],
)
def test_malformed_queries(soql: str) -> None:
    with pytest.raises(SoqlError) as caught:
        compile_soql(soql, SCHEMA)
    assert caught.value.code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:" in caught.value.message


def test_error_message_points_at_the_token() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Account WHERE Name = 'a' OR")
    assert caught.value.message.endswith("ERROR at Row:1:Column:43\nunexpected token: <EOF>")


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Nope__c = 1", "INVALID_FIELD"),
        ("SELECT Id FROM Account ORDER BY Nope", "INVALID_FIELD"),
        ("SELECT Owner.Name FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE AnnualRevenue = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Account WHERE Do_Not_Route__c LIKE 'x'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
    ],
)
def test_semantic_errors(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as caught:
        compile_soql(soql, SCHEMA)
    assert caught.value.code == code


def test_field_names_ignore_case_and_count() -> None:
    bound = compile_soql("select id, NAME from account where TYPE = 'Prospect'", SCHEMA)
    assert bound.fields == ("Id", "Name") and bound.sobject.name == "Account"
    assert compile_soql("SELECT COUNT() FROM Account", SCHEMA).count_only
