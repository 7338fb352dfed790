"""What a profile can say about real exports: date and amount formats, owners by email or
name, stages instead of closed/won columns, and the book health hook."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from roleSync.adapters.csv_rows import MAX_PER_CODE
from roleSync.adapters.import_tables import StageTally
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_import import ImportReport, import_csv
from roleSync.cli import main
from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.health import Locator
from roleSync.model import Book
from roleSync.profile import Profile, load_profile

SALESFORCE_PROFILE = """\
version: 1
kind: local
name: sf
local: {path: book.db}
import:
  dates: ["M/D/YYYY", "M/D/YYYY h:mm A"]
  amounts: {currencies: ["USD", "$"], thousands: ",", decimal: "."}
  owners: {id: User ID, name: Full Name, email: Email, title: null, active: null}
  accounts:
    id: Account ID
    name: Account Name
    owner: Account Owner
    owner_by: name
    lifecycle: null
    segment: null
    region: null
    tier: null
    locked: null
    created: Created Date
    updated: null
  deals:
    id: Opportunity ID
    account: Account ID
    owner: Opportunity Owner
    owner_by: name
    kind: Type
    stage: Stage
    closed: null
    won: null
    amount: Amount
    created: Created Date
    close_date: Close Date
"""

USERS = """\
"User ID","Full Name","Email"
"005A","Hank Hunter","hank@example.com"
"005B","Fran Farmer","fran@example.com"
"""

ACCOUNTS = """\
"Account ID","Account Name","Account Owner","Created Date"
"001A","Acme","Hank Hunter","1/10/2026 9:30 PM"
"001B","Globex","  fran   FARMER ","12/31/2025"
"""

DEALS = """\
Opportunity ID,Account ID,Opportunity Owner,Type,Stage,Amount,Close Date,Created Date
"006A","001A","Hank Hunter","New Customer","Closed Won","USD 10,000.00","1/10/2026","11/2/2025"
"006B","001B","Fran Farmer","","Closed Lost","$12,500.00","2/28/2026","1/5/2026"
"006C","001B","","","Prospecting","","","3/1/2026"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return load_profile(write(tmp_path, "sf.yaml", SALESFORCE_PROFILE))


def pull(profile: Profile) -> Book:
    with LocalAdapter(profile) as adapter:
        return adapter.pull()


def errors_of(profile: Profile, **files: Path | None) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_csv(profile, files.get("owners"), files.get("accounts"), files.get("deals"))
    return [str(d) for d in caught.value.diagnostics]


def import_sample(profile: Profile, tmp_path: Path, **health: Any) -> ImportReport:
    return import_csv(
        profile,
        write(tmp_path, "users.csv", USERS),
        write(tmp_path, "accounts.csv", ACCOUNTS),
        write(tmp_path, "deals.csv", DEALS),
        **health,
    )


def test_a_salesforce_report_export_imports_as_it_comes(profile: Profile, tmp_path: Path) -> None:
    import_sample(profile, tmp_path)
    book = pull(profile)
    acme, globex = book.accounts["001A"], book.accounts["001B"]
    assert acme.owner_id == "005A"
    assert globex.owner_id == "005B"  # case and extra spaces ignored
    assert acme.created == datetime(2026, 1, 10, 21, 30, tzinfo=UTC)
    assert globex.created == datetime(2025, 12, 31, tzinfo=UTC)
    deals = {d.id: d for d in book.deals}
    won, lost, open_ = deals["006A"], deals["006B"], deals["006C"]
    assert (won.amount, lost.amount, open_.amount) == (10_000.0, 12_500.0, None)
    assert (won.created, won.close_date) == (date(2025, 11, 2), date(2026, 1, 10))
    assert (won.closed, won.won, lost.closed, lost.won) == (True, True, True, False)
    assert (open_.closed, open_.won, open_.close_date) == (False, False, None)
    # A blank deal owner is stored as NULL: the account's owner, by the model's rule.
    with closing(sqlite3.connect(profile.book_path)) as conn:
        stored = conn.execute("SELECT owner_id FROM deals WHERE id = '006C'").fetchone()
    assert stored == (None,)


def test_unknown_and_ambiguous_owner_names_are_reported_per_row(
    profile: Profile, tmp_path: Path
) -> None:
    users = write(tmp_path, "u.csv", USERS + '"005C","Hank Hunter","hank2@example.com"\n')
    accounts = write(
        tmp_path,
        "a.csv",
        '"Account ID","Account Name","Account Owner","Created Date"\n'
        '"001A","Acme","Hank Hunter","1/10/2026"\n'
        '"001B","Globex","Fran Farmr","1/10/2026"\n'
        '"001C","Initech","Nobody At All","1/10/2026"\n',
    )
    errors = errors_of(profile, owners=users, accounts=accounts)
    a = str(accounts)
    assert errors == [
        f"{a}:2:3: error: Account Owner: 2 owners have a full name 'Hank Hunter' (005A, 005C): "
        "reference owners by email or id [import-owner-ambiguous]",
        f"{a}:3:3: error: Account Owner: no owner has a full name 'Fran Farmr' (in the owners "
        "file or the book); did you mean 'Fran Farmer'? [import-owner-unknown]",
        f"{a}:4:3: error: Account Owner: no owner has a full name 'Nobody At All' (in the "
        "owners file or the book) [import-owner-unknown]",
    ]
    assert not profile.book_path.exists()


def test_owner_names_resolve_against_the_book_when_no_owners_file_is_given(
    profile: Profile, tmp_path: Path
) -> None:
    import_csv(profile, write(tmp_path, "users.csv", USERS), None, None)
    import_csv(profile, None, write(tmp_path, "accounts.csv", ACCOUNTS), None)
    assert pull(profile).accounts["001B"].owner_id == "005B"


def test_owners_by_email(tmp_path: Path) -> None:
    text = SALESFORCE_PROFILE.replace("owner_by: name", "owner_by: email")
    profile = load_profile(write(tmp_path, "p.yaml", text))
    accounts = write(
        tmp_path,
        "a.csv",
        '"Account ID","Account Name","Account Owner","Created Date"\n'
        '"001A","Acme","HANK@example.com ","1/10/2026"\n',
    )
    import_csv(profile, write(tmp_path, "users.csv", USERS), accounts, None)
    assert pull(profile).accounts["001A"].owner_id == "005A"


def test_an_unmapped_stage_is_counted_with_the_key_to_add(profile: Profile, tmp_path: Path) -> None:
    header = DEALS.splitlines()[0]
    rows = [f'"0{n}","001A","","","Closed Wonn","","","1/1/2026"' for n in range(3)]
    rows.append('"09","001A","","","Verbal Commit","","","1/1/2026"')
    rows.append('"10","001A","","","","","","1/1/2026"')
    deals = write(tmp_path, "d.csv", "\n".join([header, *rows]) + "\n")
    errors = errors_of(profile, deals=deals)
    d = str(deals)
    assert errors == [
        f"{d}:2:5: error: stage 'Closed Wonn' (3 deals, first here) is not in the profile's "
        "stages: add stages.\"Closed Wonn\": open, won or lost; did you mean 'Closed Won'? "
        "[import-unmapped-stage]",
        f"{d}:5:5: error: stage 'Verbal Commit' (1 deal, first here) is not in the profile's "
        'stages: add stages."Verbal Commit": open, won or lost [import-unmapped-stage]',
        f"{d}:6:5: error: Stage: blank stage; the profile maps no closed/won columns, so the "
        "stage says whether the deal is open, won or lost [csv-invalid-value]",
    ]


def test_a_missing_stage_column_is_a_finding_when_stages_decide(
    profile: Profile, tmp_path: Path
) -> None:
    """Without closed/won columns the stage decides; a file without it is one positioned
    finding (it was a KeyError traceback), and the other cells are still checked."""
    header = "Opportunity ID,Account ID,Opportunity Owner,Type,Amount,Close Date,Created Date"
    rows = ['"01","001A","","","USD 5.00","1/2/2026","1/1/2026"', '"02","001A","","","x","",""']
    deals = write(tmp_path, "d.csv", "\n".join([header, *rows]) + "\n")
    errors = errors_of(profile, deals=deals)
    d = str(deals)
    assert f"{d}:1:1: error: no column 'Stage' (import.deals.stage in the profile) " in (
        errors[0] + " "
    )
    assert any(e.startswith(f"{d}:3:5: error: Amount:") for e in errors)
    assert not profile.book_path.exists()


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("EUR 5.00", "is not an amount"),
        ("1,2,3", "is not an amount"),
        ("1e308", "is not an amount"),
        ("nan", "is not an amount"),
        ("inf", "is not an amount"),
        ("9" * 400, "is not a finite amount"),
        ("USD 5 USD", "is not an amount"),
        ("--5", "is not an amount"),
    ],
)
def test_amounts_outside_the_declared_format_or_not_finite_are_refused(
    profile: Profile, tmp_path: Path, cell: str, reason: str
) -> None:
    header = DEALS.splitlines()[0]
    deals = write(
        tmp_path, "d.csv", f'{header}\n"01","001A","","","Closed Won","{cell}","","1/1/2026"\n'
    )
    [error] = errors_of(profile, deals=deals)
    assert error.startswith(f"{deals}:2:6: error: Amount: ")
    assert reason in error


def test_a_date_outside_the_declared_formats_is_refused(profile: Profile, tmp_path: Path) -> None:
    header = DEALS.splitlines()[0]
    deals = write(
        tmp_path,
        "d.csv",
        f'{header}\n"01","001A","","","Closed Won","","2026-01-10","2/30/2026"\n',
    )
    errors = errors_of(profile, deals=deals)
    d = str(deals)
    assert errors == [
        f"{d}:2:7: error: Close Date: '2026-01-10' is not a date in the profile's import.dates "
        "('M/D/YYYY', 'M/D/YYYY h:mm A') [csv-invalid-value]",
        f"{d}:2:8: error: Created Date: '2/30/2026' is not a valid date (day is out of range "
        "for month) [csv-invalid-value]",
    ]


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (
            '["M/D/YYYY", "D/M/YYYY"]',
            "date formats 'M/D/YYYY' and 'D/M/YYYY' read '1/2/2026' two ways",
        ),
        ('["ISO", "YYYY-DD-MM"]', "date formats 'ISO' and 'YYYY-DD-MM' read '2026-01-02' two ways"),
        ('["MD/YYYY"]', "MD can split one string two ways"),
        ('["YYYY-MM-DD HH:MM"]', "gives the month twice (minutes are mm, months MM)"),
        ('["D.M.YY"]', "unknown token 'YY'"),
    ],
)
def test_an_ambiguous_date_declaration_is_refused_at_check_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dates: str, message: str
) -> None:
    text = SALESFORCE_PROFILE.replace('dates: ["M/D/YYYY", "M/D/YYYY h:mm A"]', f"dates: {dates}")
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(InputError) as caught:
        load_profile(path)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line, diagnostic.col) == (str(path), 6, 10)
    assert message in diagnostic.message
    assert main(["check", str(path)]) == 1
    assert f"{path}:6:10: error: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("amounts: {thousands: ',', decimal: ','}", "thousands and decimal separators must differ"),
        ("deals: {closed: null}", "map both closed and won, or neither"),
        ("owners: {name: []}", "give at least one column"),
    ],
)
def test_contradictory_import_sections_are_refused(
    tmp_path: Path, section: str, message: str
) -> None:
    text = f"version: 1\nkind: local\nname: x\nimport:\n  {section}\n"
    with pytest.raises(InputError) as caught:
        load_profile(write(tmp_path, "p.yaml", text))
    assert message in str(caught.value)


def test_so_many_findings_of_one_kind_are_counted_not_listed(
    profile: Profile, tmp_path: Path
) -> None:
    header = DEALS.splitlines()[0]
    rows = [f'"{n}","001A","","","Closed Won","x","","1/1/2026"' for n in range(MAX_PER_CODE + 5)]
    deals = write(tmp_path, "d.csv", "\n".join([header, *rows]) + "\n")
    errors = errors_of(profile, deals=deals)
    assert len(errors) == MAX_PER_CODE + 1
    assert errors[-1] == (
        f"{deals}:{MAX_PER_CODE + 2}:6: error: 5 more [csv-invalid-value] findings like the "
        f"ones above, from here on (only the first {MAX_PER_CODE} are listed) [csv-invalid-value]"
    )


# -- the book health hook -------------------------------------------------------------


class FakeHealth:
    """Stands in for the book health gate: records what it saw, returns set findings."""

    def __init__(self, *severities: Severity) -> None:
        self.severities = severities
        self.seen: list[tuple[int, int]] = []

    def __call__(self, conn: sqlite3.Connection, locate: Locator | None) -> Sequence[Diagnostic]:
        deals = conn.execute("SELECT count(*) FROM deals").fetchone()[0]
        owners = conn.execute("SELECT count(*) FROM owners").fetchone()[0]
        self.seen.append((owners, deals))
        return [
            Diagnostic("book", 0, 0, severity, f"finding {n}", "fake-health")
            for n, severity in enumerate(self.severities)
        ]


def test_health_sees_the_new_book_and_an_error_writes_nothing(
    profile: Profile, tmp_path: Path
) -> None:
    health = FakeHealth(Severity.WARNING, Severity.ERROR)
    with pytest.raises(InputError) as caught:
        import_sample(profile, tmp_path, health=health)
    assert health.seen == [(2, 3)]  # every row written before it is asked
    assert sorted(d.message for d in caught.value.diagnostics) == ["finding 0", "finding 1"]
    assert not profile.book_path.exists()
    assert list(tmp_path.glob(".*.import")) == []  # the staging file is gone


def test_health_error_on_an_existing_book_rolls_back(profile: Profile, tmp_path: Path) -> None:
    import_csv(profile, write(tmp_path, "users.csv", USERS), None, None)
    before = profile.book_path.read_bytes()
    health = FakeHealth(Severity.ERROR)
    with pytest.raises(InputError):
        import_sample(profile, tmp_path, health=health)
    assert health.seen == [(2, 3)]
    assert profile.book_path.read_bytes() == before
    assert pull(profile).deals == []


def test_health_warnings_come_back_with_the_report(profile: Profile, tmp_path: Path) -> None:
    health = FakeHealth(Severity.WARNING)
    report = import_sample(profile, tmp_path, health=health)
    assert [d.message for d in report.warnings] == ["finding 0"]
    assert len(pull(profile).deals) == 3
    again = import_sample(profile, tmp_path, health=health)  # an existing book this time
    assert [d.message for d in again.warnings] == ["finding 0"]
    assert (again.deals.inserted, again.deals.updated) == (0, 3)


def test_a_repeated_id_in_a_first_import_names_its_first_line(
    profile: Profile, tmp_path: Path
) -> None:
    users = write(tmp_path, "u.csv", USERS + '"005A","Hank Again","hank3@example.com"\n')
    [error] = errors_of(profile, owners=users)
    assert error == f"{users}:4:1: error: duplicate id '005A' (first on line 2) [csv-duplicate-id]"
    assert not profile.book_path.exists()


def test_the_command_reports_every_problem_and_exits_1(
    profile: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = write(tmp_path, "a.csv", ACCOUNTS.replace("Hank Hunter", "Hank Hunterr"))
    deals = write(tmp_path, "d.csv", DEALS.replace("USD 10,000.00", "EUR 10"))
    owners = write(tmp_path, "u.csv", USERS)
    files = ["--owners", str(owners), "--accounts", str(accounts), "--deals", str(deals)]
    code = main(["import", "-c", str(tmp_path / "sf.yaml"), *files])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{accounts}:2:3: error: Account Owner: no owner has a full name 'Hank Hunterr'" in err
    assert f"{deals}:2:6: error: Amount: 'EUR 10' is not an amount" in err
    assert "Traceback" not in err
    assert not profile.book_path.exists()


def test_past_so_many_distinct_unmapped_stages_the_rest_are_counted(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StageTally, "MAX_VALUES", 2)
    header = DEALS.splitlines()[0]
    rows = [f'"{n}","001A","","","Stage {n}","","","1/1/2026"' for n in range(5)]
    deals = write(tmp_path, "d.csv", "\n".join([header, *rows]) + "\n")
    errors = errors_of(profile, deals=deals)
    assert len(errors) == 3
    assert errors[-1] == (
        f"{deals}:4:5: error: 3 more deals have stages the profile's stages does not map, "
        "past the first 2 distinct ones listed [import-unmapped-stage]"
    )
