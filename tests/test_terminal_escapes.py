"""Terminal escapes: data never steers the terminal it is shown on.

Owner names, titles, account names, deal stages and lifecycles come from CSV files and
CRMs. Every text a command prints (tables, `explain`, `runs`, run summaries, diagnostics
quoting values, text logs) shows their control characters escaped; JSON keeps the data
as it is. One hostile book is synced once and every command's text output is walked.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.demo_book import generate_demo_book
from roleSync.diagnostic_formats import render_github
from roleSync.errors import Diagnostic, Severity
from roleSync.plan import Plan
from roleSync.profile import load_profile
from roleSync.render import handoff_table, owner_names, role_table, table, titles_that_lie
from roleSync.report.progress import LineProgress, RichProgress
from roleSync.sync import logs
from roleSync.terminal_text import printable

AS_OF = date(2026, 6, 30)
# Retitles the terminal (OSC ... BEL), clears it (CSI 2J), a one-byte C1 CSI, a bidi
# override that reverses what follows, a CR that returns to the start of the line, and
# NEL (C1 "next line").
EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e\r\x85"
EVIL_SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e\\r\\x85"
KIND_NAME = "José Müller 山田"  # ordinary non-ASCII text stays as it is
# What must never reach a terminal raw. Newline and tab are layout (a table, an
# explanation); every other C0 control, DEL, C1, the line separators, bidi controls.
RAW_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def assert_clean(text: str, where: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, (
        f"{where}: raw {found.group()!r} at {found.start()}: "
        f"{text[max(0, found.start() - 60) : found.start() + 20]!r}"
    )


@dataclass(frozen=True)
class Printed:
    code: int
    stdout: str
    stderr: str


def run(*argv: str) -> Printed:
    """`rolesync ARGV` in this process, its output captured (not a terminal)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(list(argv))
    return Printed(code, stdout.getvalue(), stderr.getvalue())


@dataclass(frozen=True)
class Hostile:
    folder: Path
    profile: str
    rules: str
    run_id: str
    moved: str  # an account the run handed off
    owner: str  # the id of an owner named KIND_NAME + EVIL
    printed: dict[str, Printed]


def _hostile_book(folder: Path) -> tuple[str, str]:
    """The demo book with EVIL in every owner name and title, account name, deal stage,
    and the lifecycle and segment of a few accounts. Returns (profile, rules)."""
    profile_path, rules = prepare(folder, AS_OF, 2026)
    owners, accounts, deals = generate_demo_book(AS_OF, 2026)
    owners = [
        dataclasses.replace(o, name=(KIND_NAME if n == 0 else o.name) + EVIL, title=o.title + EVIL)
        for n, o in enumerate(owners)
    ]
    accounts = [dataclasses.replace(a, name=a.name + EVIL) for a in accounts]
    # A few lifecycles and segments no profile maps: book health quotes them.
    accounts = [
        dataclasses.replace(a, lifecycle="Customer" + EVIL, segment=EVIL) if n % 500 == 7 else a
        for n, a in enumerate(accounts)
    ]
    deals = [d._replace(stage=d.stage + EVIL) for d in deals]
    write_book(load_profile(profile_path).book_path, owners, accounts, deals)
    return str(profile_path), str(rules)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    folder = tmp_path_factory.mktemp("hostile")
    profile, rules = _hostile_book(folder)
    as_of = AS_OF.isoformat()
    printed: dict[str, Printed] = {}
    printed["sync"] = run("sync", "-c", profile, "-r", rules, "--as-of", as_of)
    assert printed["sync"].code == 0, printed["sync"].stderr
    run_id = re.search(r"^run (\S+):", printed["sync"].stdout, re.M).group(1)  # type: ignore[union-attr]
    plan = Plan.read(next((folder / ".rolesync" / "runs").glob("*/plan.json")))
    moved = plan.changes[0].account_id
    first_owner = next(o for o in plan.owners if o.name.startswith(KIND_NAME))
    with_rules = ("-c", profile, "-r", rules, "--as-of", as_of)
    commands = {
        "plan -o": ("plan", *with_rules, "-o", str(folder / "plan.json")),
        "runs": ("runs", "-c", profile),
        "runs show": ("runs", "show", run_id, "-c", profile),
        "explain account": ("explain", moved, *with_rules),
        "explain owner": ("explain", first_owner.owner_id, *with_rules),
        "explain account --run": ("explain", moved, "-c", profile, "--run", "latest"),
        "explain owner --run": ("explain", first_owner.owner_id, "-c", profile, "--run", run_id),
        "report": ("report", run_id, "-c", profile, "-o", str(folder / "report.html")),
        "rollback": ("rollback", run_id, "-c", profile),
    }
    for name, argv in commands.items():
        printed[name] = run(*argv)
    return Hostile(folder, profile, rules, run_id, moved, first_owner.owner_id, printed)


WALKED = (
    "sync",
    "plan -o",
    "runs",
    "runs show",
    "explain account",
    "explain owner",
    "explain account --run",
    "explain owner --run",
    "report",
    "rollback",
)


@pytest.mark.parametrize("command", WALKED)
def test_no_command_prints_a_raw_control_character(hostile: Hostile, command: str) -> None:
    printed = hostile.printed[command]
    assert printed.code == 0, printed.stderr
    assert_clean(printed.stdout, f"{command} stdout")
    assert_clean(printed.stderr, f"{command} stderr")


@pytest.mark.parametrize(
    "command",
    ["explain account", "explain owner", "explain account --run", "explain owner --run"],
)
def test_explain_shows_hostile_names_escaped_and_other_text_intact(
    hostile: Hostile, command: str
) -> None:
    stdout = hostile.printed[command].stdout
    assert EVIL_SHOWN in stdout  # shown, escaped: nothing dropped, nothing hidden
    if "owner" in command:
        assert f"{KIND_NAME}{EVIL_SHOWN}" in stdout


def test_health_warnings_quote_hostile_values_escaped(hostile: Hostile) -> None:
    # Lifecycles and segments no profile maps: book health quotes them on stderr.
    stderr = hostile.printed["plan -o"].stderr
    assert "\\x1b[2J" in stderr, stderr


def test_json_output_keeps_the_data_as_is(hostile: Hostile) -> None:
    printed = run("plan", "-c", hostile.profile, "-r", hostile.rules, "--as-of", "2026-06-30")
    assert printed.code == 0, printed.stderr
    names = {o["name"] for o in json.loads(printed.stdout)["owners"]}
    assert f"{KIND_NAME}{EVIL}" in names
    listing = run("runs", "-c", hostile.profile, "--format", "json")
    assert json.loads(listing.stdout)[0]["profile"] == "demo"


def test_the_demo_tables_escape_every_cell(hostile: Hostile) -> None:
    plan = Plan.read(hostile.folder / "plan.json")
    shown = "\n".join(
        [
            role_table(plan.owners),
            titles_that_lie(plan.owners),
            handoff_table(plan, owner_names(plan), 20),
        ]
    )
    assert_clean(shown, "demo tables")
    assert f"{KIND_NAME}{EVIL_SHOWN}" in shown


def test_a_table_pads_escaped_cells_to_their_shown_width() -> None:
    shown = table(["name", "n"], [["a\x1b[2J", "1"], ["b\nc", "22"], ["José", "3"]])
    assert shown.splitlines() == [
        "name      n",
        "--------  --",
        "a\\x1b[2J  1",
        "b\\nc      22",
        "José      3",
    ]


def test_a_diagnostic_quoting_data_is_one_escaped_line() -> None:
    found = Diagnostic("deals.csv", 6, 5, Severity.ERROR, f"stage {EVIL}\nnext", "bad")
    assert str(found) == f"deals.csv:6:5: error: stage {EVIL_SHOWN}\\nnext [bad]"


def test_an_error_quoting_data_is_escaped(tmp_path: Path) -> None:
    # A CSV value goes into the unmapped-stage finding of an import.
    example = Path(__file__).resolve().parents[1] / "connectors" / "local.example.yaml"
    profile = tmp_path / "crm.yaml"
    stages_decide = (
        example.read_text(encoding="utf-8")
        .replace("closed: IsClosed", "closed: null")
        .replace("won: IsWon", "won: null")
    )
    profile.write_text(stages_decide + "stages:\n  Closed Won: won\n", encoding="utf-8")
    deals = tmp_path / "deals.csv"
    with deals.open("w", encoding="utf-8", newline="") as stream:
        header = ["Id", "AccountId", "OwnerId", "Type", "StageName", "Amount", "CreatedDate"]
        row = ["006A", "001A", "005A", "New Customer", f"Closed{EVIL}Won", "5", "2025-01-10"]
        csv.writer(stream).writerows([[*header, "CloseDate"], [*row, "2025-03-01"]])
    printed = run("import", "-c", str(profile), "--deals", str(deals))
    assert printed.code == 1
    assert_clean(printed.stderr, "import stderr")
    (line,) = printed.stderr.splitlines()
    assert line.startswith(f"{deals}:2:5: error: stage 'Closed\\x1b]0;pwned")
    assert f'add stages."Closed{EVIL_SHOWN}Won": open, won or lost' in line
    assert line.endswith("[import-unmapped-stage]")
    assert not (tmp_path / "demo.db").exists()  # nothing written


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logs.reset()


def test_text_logs_escape_and_json_logs_keep_the_data(text_log: io.StringIO) -> None:
    logs.configure("text", text_log)
    logs.event("finishing", f"finishing run of {EVIL}", level=logging.WARNING)
    logging.getLogger("roleSync.adapters.x").warning("retrying %s", EVIL)
    assert text_log.getvalue().splitlines() == [
        f"rolesync: finishing run of {EVIL_SHOWN}",
        f"rolesync: retrying {EVIL_SHOWN}",
    ]
    as_json = io.StringIO()
    logs.configure("json", as_json)
    logs.event("finishing", f"finishing run of {EVIL}", level=logging.WARNING, owner=EVIL)
    # Split on newlines only: the raw data holds NEL, which splitlines() would split on.
    (line,) = as_json.getvalue().rstrip("\n").split("\n")
    data = json.loads(line)
    assert data["message"] == f"finishing run of {EVIL}" and data["owner"] == EVIL


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_are_escaped() -> None:
    stream = io.StringIO()
    with LineProgress(stream).stage("pull") as stage:
        stage.done(f"pulled {EVIL}")
    assert stream.getvalue() == f"pulled {EVIL_SHOWN}\n"


def test_progress_bars_print_summaries_escaped() -> None:
    stream = _Terminal()
    with RichProgress(stream).stage("pull") as stage:
        stage.done(f"pulled {EVIL}")
    # The bar's own cursor codes are rich's; none of the data's may pass.
    for raw in ("]0;pwned\x07", "\x1b[2J", "\x9b", "\u202e", "\r\x85"):
        assert raw not in stream.getvalue()
    assert EVIL_SHOWN in stream.getvalue()


def test_printable_keeps_ordinary_text_and_escapes_the_rest() -> None:
    assert printable(KIND_NAME + " \u00a0ok\u200d") == KIND_NAME + " \u00a0ok\u200d"
    assert printable("a\u2028b\u2066c\x7f\ud800") == "a\\u2028b\\u2066c\\x7f\\ud800"
    assert printable("a\nb\tc", keep="\n") == "a\nb\\tc"


def test_github_annotations_escape_control_characters_but_keep_newlines() -> None:
    found = Diagnostic("deals.csv", 6, 5, Severity.ERROR, f"stage {EVIL}\nnext", "bad")
    annotation = render_github([found], 1)
    assert_clean(annotation, "annotation")
    assert f"stage {EVIL_SHOWN.replace(chr(92) + 'r', '%0D')}%0Anext" in annotation
