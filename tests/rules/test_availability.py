"""Out-of-office windows: the windows themselves, routing over a sequence of daily runs
(round robin, weighted, `when_unavailable: wait`), windows from owner fields, `check`,
the profile section, skip counts and `explain`.

Every expected sequence is worked out by hand in the test's comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from builders import ROLES, account, owner, routing, won
from roleSync.check import STOCK_MAPPINGS, check_paths
from roleSync.errors import InputError
from roleSync.model import Book, Owner
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.plan.types import Skip, SkipCode
from roleSync.profile import load_profile
from roleSync.report.explain import Explainer
from roleSync.rules.availability import (
    Window,
    WindowFields,
    away_on,
    day_of,
    field_problems,
    field_windows,
)
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.rules.semantics import CheckContext
from roleSync.sync.stuck import parse_fail_on, skipped_by_reason, stuck_line

JULY = date(2026, 7, 1)
LEAVE = {"owner": "ann@example.com", "from": "2026-07-01", "until": "2026-07-03"}

# -- windows -------------------------------------------------------------------------


def test_a_window_holds_its_first_and_last_day_and_not_the_day_after() -> None:
    window = Window("ann", date(2026, 7, 1), date(2026, 7, 21), "parental leave")
    assert not window.covers(date(2026, 6, 30))
    assert window.covers(date(2026, 7, 1))
    assert window.covers(date(2026, 7, 21))
    assert not window.covers(date(2026, 7, 22))
    assert window.back_on == date(2026, 7, 22)
    assert window.describe() == "away until 2026-07-21 (parental leave)"
    assert Window("ann", JULY, JULY).describe() == "away until 2026-07-01"


def test_away_on_names_whoever_a_window_covers_that_day() -> None:
    windows = [Window("ann", JULY, date(2026, 7, 3)), Window("bob", date(2026, 7, 3), JULY)]
    assert away_on(windows, date(2026, 6, 30)) == {}
    assert set(away_on(windows, JULY)) == {"ann"}
    assert away_on(windows, date(2026, 7, 4)) == {}


def test_windows_that_follow_on_are_one_absence_for_the_return_date() -> None:
    leave = Window("ann", JULY, date(2026, 7, 10), "leave")
    holiday = Window("ann", date(2026, 7, 11), date(2026, 7, 14), "holiday")
    later = Window("ann", date(2026, 7, 20), date(2026, 7, 24), "conference")
    away = away_on([later, holiday, leave], date(2026, 7, 5))["ann"]
    # back on the 15th, not the 11th; the 15th to the 19th are working days.
    assert (away.until, away.back_on, away.reason) == (
        date(2026, 7, 14),
        date(2026, 7, 15),
        "leave",
    )


def test_day_of_reads_dates_date_times_and_iso_text() -> None:
    assert day_of(None) is None
    assert day_of("  ") is None
    assert day_of("2026-07-01") == JULY
    assert day_of(" 2026-07-01 ") == JULY
    assert day_of("2026-07-01T22:30:00Z") == JULY  # a Salesforce DateTime: its date
    assert day_of(JULY) == JULY
    assert day_of(datetime(2026, 7, 1, 23, 0)) == JULY
    for bad in ("01/07/2026", "2026-02-30", "soon", 20260701, True):
        with pytest.raises(ValueError, match="is not a date"):
            day_of(bad)


FIELDS = WindowFields("away_from", "away_until", "away_reason")


def away_owner(oid: str, **fields: Any) -> Owner:
    return replace(owner(oid), fields=fields)


def test_windows_from_owner_fields_with_blank_and_unreadable_values() -> None:
    owners = [
        away_owner("ann", away_from="2026-07-01", away_until="2026-07-03", away_reason="leave"),
        away_owner("bob", away_from="", away_until=None),  # blank: not away, no problem
        away_owner("cy", away_from="next week", away_until="2026-07-03"),
        away_owner("dee", away_from="2026-07-01"),  # no last day
        away_owner("eve", away_from="2026-07-09", away_until="2026-07-01"),
        owner("fay"),  # the fields are not there at all
    ]
    assert field_windows(owners, FIELDS) == [Window("ann", JULY, date(2026, 7, 3), "leave")]
    assert field_problems(owners, FIELDS) == [
        "owner cy@example.com: 'next week' is not a date (YYYY-MM-DD); no away window read "
        "for them",
        "owner dee@example.com: away_until is blank; no away window read for them",
        "owner eve@example.com: the away window ends (2026-07-01) before it starts "
        "(2026-07-09); no away window read for them",
    ]


# -- daily runs ----------------------------------------------------------------------


def book_of(days: Sequence[date], per_day: int, farmers: Sequence[Owner]) -> Book:
    """Hank (a hunter) wins `per_day` new customers on each day; they are handed off on
    the day they are won (delay 0). Account ids sort in trigger order."""
    accounts, deals = [], []
    for n, day in enumerate(days):
        for i in range(per_day):
            aid = f"d{n}-{i}"
            accounts.append(account(aid, "hank"))
            deals.append(won(f"w{aid}", aid, "hank", day))
    return Book([owner("hank"), *farmers], accounts, deals)


def plan_on(
    book: Book, doc: dict[str, Any], day: date, rotation: dict[str, str], **kw: Any
) -> Plan:
    inputs = PlanInputs(
        "test",
        CompiledRoles(RolesFile.model_validate(ROLES)),
        CompiledRouting(RoutingFile.model_validate(doc)),
        "sha256:test",
        day,
        rotation,
        **kw,
    )
    return build_plan(book, inputs)


def run_days(
    book: Book, doc: dict[str, Any], days: Sequence[date], **kw: Any
) -> tuple[dict[date, list[str]], dict[date, list[Skip]]]:
    """One plan a day, each applied before the next (accounts move, the rotation goes
    on): who received what on each day, and what was skipped."""
    rotation: dict[str, str] = {}
    received: dict[date, list[str]] = {}
    skipped: dict[date, list[Skip]] = {}
    for day in days:
        plan = plan_on(book, doc, day, rotation, **kw)
        received[day] = [c.to_owner_id for c in plan.changes]
        skipped[day] = [s for s in plan.skipped if s.code != SkipCode.PENDING]
        moves = {c.account_id: c.to_owner_id for c in plan.changes}
        accounts = [
            replace(a, owner_id=moves.get(a.id, a.owner_id)) for a in book.accounts.values()
        ]
        book = Book(list(book.owners.values()), accounts, book.deals)
        rotation = dict(plan.rotation)
    return received, skipped


DAYS = [date(2026, 6, 29) + timedelta(days=n) for n in range(7)]  # 29 June to 5 July
TEAM = [owner("ann"), owner("bob"), owner("cy")]


def team_route(strategy: str = "round_robin", **assign: Any) -> dict[str, Any]:
    pool = ["ann@example.com", "bob@example.com", "cy@example.com"]
    return {"id": "team", "assign": {"pool": pool, "strategy": strategy, **assign}}


def test_round_robin_passes_over_the_owner_on_leave_then_gives_her_turn_back() -> None:
    doc = routing(team_route()) | {"availability": [LEAVE | {"reason": "parental leave"}]}
    received, skipped = run_days(book_of(DAYS, 2, TEAM), doc, DAYS)
    # Rotation ann, bob, cy; ann is away 1 to 3 July (both days included).
    assert received == {
        date(2026, 6, 29): ["ann", "bob"],
        date(2026, 6, 30): ["cy", "ann"],
        date(2026, 7, 1): ["bob", "cy"],  # her turn comes first: passed over
        date(2026, 7, 2): ["bob", "cy"],
        date(2026, 7, 3): ["bob", "cy"],
        date(2026, 7, 4): ["ann", "bob"],  # back: the turn after cy is hers again
        date(2026, 7, 5): ["cy", "ann"],
    }
    assert all(not s for s in skipped.values())


def test_the_reason_says_who_was_passed_over_and_why() -> None:
    doc = routing(team_route()) | {"availability": [LEAVE | {"reason": "parental leave"}]}
    plan = plan_on(book_of([JULY], 1, TEAM), doc, JULY, {})
    assert plan.changes[0].reason.endswith(
        "route team: round robin, turn 2 of 3 in the pool, 1 skipped as ineligible"
    )
    everyone = doc | {
        "availability": [{**LEAVE, "owner": o.email} for o in TEAM],
    }
    skip = plan_on(book_of([JULY], 1, TEAM), everyone, JULY, {}).skipped[0]
    assert (skip.code, skip.reason) == (
        SkipCode.NO_FARMER,
        "route team: no eligible farmer among 3 (3 away until 2026-07-03)",
    )


def test_weighted_freezes_the_running_score_while_away_so_no_catch_up_burst() -> None:
    weights = {"ann@example.com": 2}  # bob and cy weigh 1: ann's share is a half
    doc = routing(team_route("weighted", weights=weights))
    days = DAYS[2:]  # 1 to 5 July
    doc["availability"] = [{**LEAVE, "from": "2026-07-02", "until": "2026-07-03"}]
    received, _ = run_days(book_of(days, 2, TEAM), doc, days)
    # Scores ann/bob/cy from 0/0/0. 1 July: ann (2/1/1 -> -2/1/1), bob (0/2/2 -> 0/-2/2).
    # 2 July, ann away (0, frozen), bob and cy share a total of 2: cy (-1/3 -> -1/1),
    # cy (0/2 -> 0/0). 3 July: bob (1/1 -> -1/1; a tie goes to the earlier), cy (0/2 -> 0/0).
    # 4 July: 0/0/0 again, so ann, bob; 5 July: cy, ann: two of four, her share, no burst.
    assert received == {
        date(2026, 7, 1): ["ann", "bob"],
        date(2026, 7, 2): ["cy", "cy"],
        date(2026, 7, 3): ["bob", "cy"],
        date(2026, 7, 4): ["ann", "bob"],
        date(2026, 7, 5): ["cy", "ann"],
    }


def test_wait_holds_the_handoff_for_the_owner_whose_turn_it_is_then_routes_it() -> None:
    duo = {"id": "duo", "when_unavailable": "wait", "assign": {"pool": ["ann", "bob"]}}
    doc = routing(duo) | {"availability": [{**LEAVE, "until": "2026-07-02", "reason": "leave"}]}
    days = [date(2026, 6, 30), JULY, date(2026, 7, 2), date(2026, 7, 3)]
    received, skipped = run_days(book_of(days, 1, TEAM[:2]), doc, days)
    # 30 June: ann's turn (d0). 1 July: bob's (d1). 2 July: ann's again, she is away:
    # d2 waits. 3 July she is back: d2 goes to her, then d3 to bob.
    assert received == {
        date(2026, 6, 30): ["ann"],
        JULY: ["bob"],
        date(2026, 7, 2): [],
        date(2026, 7, 3): ["ann", "bob"],
    }
    [held] = skipped[date(2026, 7, 2)]
    assert (held.account_id, held.code, held.route) == ("d2-0", SkipCode.WAITING, "duo")
    assert held.reason == (
        "route duo: the round robin turn is Ann's, away until 2026-07-02 (leave): the "
        "handoff waits for their return on 2026-07-03 (when_unavailable: wait)"
    )


def test_wait_queues_the_route_behind_the_turn_and_is_not_overflowed() -> None:
    first = {
        "id": "ann-only",
        "when_unavailable": "wait",
        "when_full": "next_route",
        "assign": {"pool": ["ann"]},
    }
    doc = routing(first, team_route()) | {"availability": [LEAVE]}
    plan = plan_on(book_of([JULY], 3, TEAM), doc, JULY, {})
    # Waiting is not full: nothing goes on to route team, and nothing moves.
    assert plan.changes == []
    assert [s.code for s in plan.skipped] == [SkipCode.WAITING] * 3
    counts = skipped_by_reason(plan.skipped)
    assert counts == {"waiting-for-return": 3}
    # Not stuck by default; selectable with --fail-on.
    assert stuck_line(plan.skipped, parse_fail_on("no-eligible-farmer,no-route")) is None
    assert stuck_line(plan.skipped, parse_fail_on("waiting-for-return")) == (
        "stuck handoffs: 3 waiting-for-return"
    )


def test_wait_with_least_loaded_holds_for_the_lightest_book() -> None:
    route = team_route("least_loaded") | {"when_unavailable": "wait"}
    doc = routing(route) | {"availability": [{**LEAVE, "owner": "bob"}]}
    farmers = [owner("ann"), owner("bob"), owner("cy")]
    book = book_of([JULY], 1, farmers)
    # ann and cy hold one account each already: bob's book is the lightest, he is away.
    extra = [account("ann-1", "ann"), account("cy-1", "cy")]
    book = Book(list(book.owners.values()), [*book.accounts.values(), *extra], book.deals)
    [held] = plan_on(book, doc, JULY, {}).skipped
    assert held.code == SkipCode.WAITING
    assert "the lightest book is Bob's, away until 2026-07-03" in held.reason


def test_windows_from_owner_fields_keep_the_owner_out_like_the_rules_list() -> None:
    farmers = [
        away_owner("ann", away_from="2026-06-25", away_until="2026-07-01", away_reason="conf"),
        away_owner("bob", away_from="not a date", away_until="2026-07-10"),
        owner("cy"),
    ]
    doc = routing(team_route())
    plan = plan_on(book_of([JULY], 3, farmers), doc, JULY, {}, availability=FIELDS)
    # ann is away (1 July is her last day); bob's window is unreadable: no window, he
    # takes his turns (the runner warns about the value).
    assert [c.to_owner_id for c in plan.changes] == ["bob", "cy", "bob"]
    without = plan_on(book_of([JULY], 3, farmers), doc, JULY, {})
    assert [c.to_owner_id for c in without.changes] == ["ann", "bob", "cy"]
    next_day = plan_on(book_of([JULY], 3, farmers), doc, date(2026, 7, 2), {}, availability=FIELDS)
    assert [c.to_owner_id for c in next_day.changes] == ["ann", "bob", "cy"]


# -- check ---------------------------------------------------------------------------


def check(tmp_path: Path, availability: str, owners: list[Owner] | None = None) -> list[str]:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "version: 1\nkind: routing\nroutes:\n  - id: team\n"
        "    assign: {pool: [ann@example.com, bob@example.com]}\n"
        "availability:\n" + availability
    )
    by_key = None
    if owners is not None:
        by_key = {o.id: o for o in owners} | {o.email.casefold(): o for o in owners}
    context = CheckContext(owners=by_key, mappings=STOCK_MAPPINGS)
    return [str(d).removeprefix(f"{path}:") for d in check_paths([path], context)[1]]


def test_check_refuses_an_inverted_window_and_a_mistyped_key(tmp_path: Path) -> None:
    text = (
        "  - {owner: ann@example.com, from: 2026-07-21, until: 2026-07-01}\n"
        "  - {owner: bob@example.com, from: 2026-07-01, untill: 2026-07-02}\n"
    )
    assert check(tmp_path, text) == [
        "7:55: error: availability.0.until: the window ends (2026-07-01) before it starts "
        "(2026-07-21): swap from and until? [inverted-window]",
        "8:48: error: unknown key 'untill'; did you mean 'until'? [unknown-key]",
    ]


def test_check_refuses_overlapping_windows_of_one_owner(tmp_path: Path) -> None:
    text = (
        "  - {owner: ann@example.com, from: 2026-07-01, until: 2026-07-10}\n"
        "  - {owner: bob@example.com, from: 2026-07-05, until: 2026-07-06}\n"
        "  - {owner: Ann@Example.com, from: 2026-07-10, until: 2026-07-12}\n"
        "  - {owner: ann@example.com, from: 2026-07-11, until: 2026-07-20}\n"
    )
    # The third touches the first on the 10th; the fourth is clear of the first but
    # overlaps the third.
    assert check(tmp_path, text) == [
        "9:36: error: Ann@Example.com's window 2026-07-10..2026-07-12 overlaps the one on "
        "line 7 (2026-07-01..2026-07-10): make them one window [overlapping-windows]",
        "10:36: error: ann@example.com's window 2026-07-11..2026-07-20 overlaps the one on "
        "line 9 (2026-07-10..2026-07-12): make them one window [overlapping-windows]",
    ]


def test_check_names_owners_that_are_no_email_or_id_with_a_suggestion(tmp_path: Path) -> None:
    text = (
        "  - {owner: Ann Lee, from: 2026-07-01, until: 2026-07-02}\n"
        "  - {owner: ann@example, from: 2026-07-01, until: 2026-07-02}\n"
        "  - {owner: bobb@example.com, from: 2026-07-01, until: 2026-07-02}\n"
    )
    assert check(tmp_path, text) == [
        "7:13: error: 'Ann Lee' is not an email or a CRM id (name owners as pools do, e.g. "
        "by email) [owner-key]",
        "8:13: error: 'ann@example' is not an email address [owner-key]",
        "9:13: warning: 'bobb@example.com' is in no pool of this file; did you mean "
        "'bob@example.com'? [unknown-owner]",
    ]
    # With a book (check -c), the book's owners are the reference.
    book_text = "  - {owner: anne@example.com, from: 2026-07-01, until: 2026-07-02}\n"
    assert check(tmp_path, book_text, [owner("ann"), owner("bob")]) == [
        "7:13: error: no owner 'anne@example.com' in the book; did you mean "
        "'ann@example.com'? [unknown-owner]"
    ]


def test_check_refuses_an_unknown_when_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "version: 1\nkind: routing\nroutes:\n  - id: team\n    when_unavailable: wiat\n"
        "    assign: {pool: [ann@example.com]}\n"
    )
    [problem] = check_paths([path], CheckContext(mappings=STOCK_MAPPINGS))[1]
    assert str(problem).removeprefix(f"{path}:") == (
        "5:23: error: routes.0.when_unavailable: unknown value 'wiat'; did you mean 'wait'? "
        "[unknown-value]"
    )


def test_the_model_refuses_a_window_ending_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="before it starts"):
        RoutingFile.model_validate(
            routing(team_route()) | {"availability": [{**LEAVE, "until": "2026-06-30"}]}
        )


# -- profile -------------------------------------------------------------------------

PROFILE = (
    "version: 1\nkind: local\nname: acme\n"
    "import: {owners: {fields: {away_from: Away From, away_until: Away Until}}}\n"
)


def test_the_profile_names_the_owner_fields_of_a_window(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text(PROFILE + "availability: {from_field: away_from, until_field: away_until}\n")
    section = load_profile(path).availability
    assert section is not None
    assert section.window_fields == WindowFields("away_from", "away_until", None)
    path.write_text(PROFILE + "availability: {from_field: away, until_feld: back}\n")
    with pytest.raises(InputError) as caught:
        load_profile(path)
    assert [str(d).removeprefix(f"{path}:") for d in caught.value.diagnostics] == [
        "5:34: error: unknown key 'until_feld'; did you mean 'until_field'? [unknown-key]",
    ]
    path.write_text(PROFILE + "availability: {from_field: away, until_field: away}\n")
    with pytest.raises(InputError, match="must name different fields"):
        load_profile(path)


# -- explain -------------------------------------------------------------------------


def test_explain_shows_the_away_member_and_the_wait() -> None:
    duo = {"id": "duo", "when_unavailable": "wait", "assign": {"pool": ["ann", "bob"]}}
    leave = {**LEAVE, "reason": "parental leave"}
    book = book_of([JULY], 1, TEAM[:2])
    explainer = Explainer(
        book,
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(routing(duo) | {"availability": [leave]}),
        JULY,
    )
    text = explainer.explain_account(book.accounts["d0-0"])
    assert "ineligible: away until 2026-07-03 (parental leave)" in text
    assert (
        "Waiting: route duo: the round robin turn is Ann's, away until 2026-07-03 (parental "
        "leave): the handoff waits for their return on 2026-07-04 (when_unavailable: wait)."
    ) in text
    owner_text = explainer.explain_owner(explainer.book.owners["ann"])
    assert (
        "  away until 2026-07-03 (parental leave): no handoff reaches them before 2026-07-04"
    ) in owner_text


def test_a_run_warns_about_owner_fields_that_hold_no_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from roleSync.profile import Profile
    from roleSync.sync.runner import _warn_unread_windows

    profile = Profile.model_validate(
        {
            "version": 1,
            "kind": "local",
            "name": "acme",
            "availability": {"from_field": "away_from", "until_field": "away_until"},
        }
    )
    book = Book([away_owner("ann", away_from="soon", away_until="2026-07-03")], [], [])
    with caplog.at_level("WARNING"):
        _warn_unread_windows(profile, book)
    assert [r.getMessage() for r in caplog.records] == [
        "profile acme availability: owner ann@example.com: 'soon' is not a date (YYYY-MM-DD); "
        "no away window read for them"
    ]


def test_apply_refuses_a_planned_change_to_an_owner_now_away_on_the_plan_date() -> None:
    from roleSync.plan.recheck import refused_changes

    book = book_of([JULY], 2, TEAM)
    plan = plan_on(book, routing(team_route()), JULY, {})  # planned before the leave was known
    assert [c.to_owner_id for c in plan.changes] == ["ann", "bob"]
    roles = CompiledRoles(RolesFile.model_validate(ROLES))
    now = CompiledRouting(
        RoutingFile.model_validate(routing(team_route()) | {"availability": [LEAVE]})
    )
    assert refused_changes(plan, book, roles, now) == {
        "d0-0": "re-checked before writing: target owner ann is away until 2026-07-03 "
        "(availability); not written"
    }
    # From the profile's owner fields too; a day after the window nothing is refused.
    fields_book = Book(
        [
            owner("hank"),
            away_owner("ann", away_from="2026-07-01", away_until="2026-07-01"),
            *TEAM[1:],
        ],
        list(book.accounts.values()),
        book.deals,
    )
    plain = CompiledRouting(RoutingFile.model_validate(routing(team_route())))
    assert set(refused_changes(plan, fields_book, roles, plain, availability=FIELDS)) == {"d0-0"}
    later = replace(plan, as_of=date(2026, 7, 4))
    assert refused_changes(later, book, roles, now) == {}
