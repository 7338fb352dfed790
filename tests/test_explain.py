"""`explain`: the trail in words, always the same story as the plan."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from builders import AS_OF, ROLES, owner, routing, won
from roleSync.adapters.local import LocalAdapter
from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.model import Account, Book, DealKind
from roleSync.profile import load_profile
from roleSync.report.explain import Explainer, PastHandoff
from roleSync.rules.ruleset import load_rule_set
from roleSync.rules.schema import RolesFile, RoutingFile

DEMO_AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo folder whose book was written but never synced: handoffs still to come."""
    folder = tmp_path_factory.mktemp("explain") / "demo"
    prepare(folder, date.fromisoformat(DEMO_AS_OF), 2026)
    return folder


@pytest.fixture(scope="module")
def explainer(fresh: Path) -> Explainer:
    rules = load_rule_set([fresh / "rules"])
    with LocalAdapter(load_profile(fresh / "demo.yaml")) as adapter:
        book = adapter.pull()
    return Explainer(book, rules.roles, rules.routing, date.fromisoformat(DEMO_AS_OF))


def picked_line(text: str) -> str:
    match = re.search(r"^  Picked (.+)\.$", text, flags=re.M)
    assert match, text
    return match.group(1)


def test_a_handed_off_account_names_rule_trigger_date_and_why_this_farmer(
    explainer: Explainer,
) -> None:
    for route_id in ("enterprise", "everyone-else"):
        change = next(c for c in explainer.plan.changes if c.rule_id == route_id)
        account = explainer.book.accounts[change.account_id]
        text = explainer.explain_account(account)
        trigger = explainer.book.first_won_new_business(account.id)
        assert trigger is not None
        assert f"first new business won on {trigger.close_date}" in text
        assert re.search(rf"^  \d\. {route_id}: matched$", text, flags=re.M)
        farmer = explainer.book.owners[change.to_owner_id].name
        why = change.reason.split("; ")[-1]  # the picker's reason, as the plan has it
        assert picked_line(text) == f"{farmer}: {why}"
        assert re.search(rf"on route {route_id}\.$", text, flags=re.M)
    everyone_else = explainer.explain_account(
        explainer.book.accounts[
            next(c for c in explainer.plan.changes if c.rule_id == "everyone-else").account_id
        ]
    )
    # Why not the earlier route: the comparison that failed, with the value found.
    assert (
        'account.segment is "' in everyone_else
        and 'needs equal to "Enterprise": no' in everyone_else
    )
    assert "Rotation:" in everyone_else and "turn" in everyone_else


def test_every_pick_explained_is_the_plans_pick(explainer: Explainer) -> None:
    """The replayed picker reaches every account in the state build_plan had."""
    for change in explainer.plan.changes:
        text = explainer.explain_account(explainer.book.accounts[change.account_id])
        farmer = explainer.book.owners[change.to_owner_id].name
        assert picked_line(text) == f"{farmer}: {change.reason.split('; ')[-1]}"


def test_pool_table_shows_loads_and_who_is_ineligible(explainer: Explainer) -> None:
    change = explainer.plan.changes[-1]  # the last pick: the fullest books
    text = explainer.explain_account(explainer.book.accounts[change.account_id])
    assert re.search(r"turn\s+owner\s+accounts\s+revenue\s+status", text)
    assert "Priya Nair" in text  # the farmer near the 400 cap is in every pool
    assert "at most 400 accounts each" in text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("locked", "Do-not-route: the account is locked"),
        ("handoff-pending", "Pending: the hunter keeps it"),
    ],
)
def test_skipped_accounts_say_why(explainer: Explainer, code: str, words: str) -> None:
    skip = next(s for s in explainer.plan.skipped if s.code == code)
    text = explainer.explain_account(explainer.book.accounts[skip.account_id])
    assert words in text
    assert f"Outcome: skipped ({code})" in text


def test_accounts_that_stay_say_why(explainer: Explainer) -> None:
    roles = {o.owner_id: o.role.value for o in explainer.plan.owners}
    book = explainer.book
    farmers = [a for a in book.accounts.values() if roles.get(a.owner_id or "") == "farmer"]
    with_trigger = next(a for a in farmers if book.first_won_new_business(a.id))
    assert "Already with a farmer" in explainer.explain_account(with_trigger)
    no_trigger = next(a for a in book.accounts.values() if not book.first_won_new_business(a.id))
    text = explainer.explain_account(no_trigger)
    assert "Handoff trigger: none yet" in text and "Outcome: stays with" in text


def test_an_owner_explained_with_metrics_rule_and_title(explainer: Explainer) -> None:
    hannah = next(
        o
        for o in explainer.plan.owners
        if o.title == "Account Executive" and o.role.value == "farmer"
    )
    owner_ = explainer.find_owner(hannah.email.upper())  # emails match in any case
    assert owner_ is not None
    text = explainer.explain_owner(owner_)
    assert "Role: farmer, by rule farmer-by-deal-mix" in text
    assert re.search(r"new_business_share +0\.\d+  new-business share of won amount", text)
    # Every group of metrics, the farmer's and the hunter's figures with their meaning.
    assert re.search(r"^  deal mix:\n    won_deals ", text, flags=re.M)
    assert re.search(r"^  farming:\n    renewal_won_count ", text, flags=re.M)
    assert re.search(r"^  hunting:\n    new_logos ", text, flags=re.M)
    figures = hannah.metrics
    assert figures.renewal_rate is not None and figures.gross_revenue_retention is not None
    assert re.search(rf"renewal_rate +{figures.renewal_rate:g}  renewal win rate: ", text)
    assert re.search(
        rf"gross_revenue_retention +{figures.gross_revenue_retention:g}  \(starting revenue",
        text,
    )
    assert re.search(r"new_business_win_rate +(-|[01](\.\d+)?)  new-business conversion", text)
    assert "1. hunter-by-deal-mix (hunter): did not match" in text
    assert re.search(r"new_business_share is 0\.\d+; needs at least 0\.6: no", text)
    assert "2. farmer-by-deal-mix (farmer): matched" in text
    assert 'Their title "Account Executive" says otherwise' in text
    assert "in the pool of route everyone-else" in text and "receives" in text


def test_past_handoff_is_mentioned(explainer: Explainer) -> None:
    change = explainer.plan.changes[0]
    text = explainer.explain_account(
        explainer.book.accounts[change.account_id], PastHandoff("run-1", change)
    )
    assert "Last handed off by run run-1:" in text


# -- hand-made books: the rarer endings -------------------------------------------


def small(route: dict[str, Any], **handoff: Any) -> tuple[Explainer, Account]:
    owners = [owner("hank"), owner("fran"), owner("gone", active=False)]
    accounts = [Account("c1", "Customer 1", "hank", segment="SMB"), Account("f1", "F", "fran")]
    accounts.append(Account("c2", "Customer 2", "gone"))
    deals = [
        won("d1", "c1", "hank", date(2026, 5, 1)),
        won("d2", "c2", "gone", date(2026, 5, 1)),
        won("e1", "f1", "fran", date(2026, 5, 1), DealKind.EXPANSION),
    ]
    explainer = Explainer(
        Book(owners, accounts, deals),
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(routing(route, **handoff)),
        AS_OF,
    )
    return explainer, explainer.book.accounts["c1"]


def test_no_route_matched() -> None:
    route = {
        "id": "ent",
        "when": {"field": "account.segment", "op": "eq", "value": "Enterprise"},
        "assign": {"pool": {"role": "farmer"}},
    }
    explainer, account = small(route)
    text = explainer.explain_account(account)
    assert '1. ent: did not match\n       account.segment is "SMB"' in text
    assert "No route matched" in text
    assert "Outcome: skipped (no-route)" in text


def test_no_eligible_farmer() -> None:
    route = {"id": "all", "assign": {"pool": ["fran@example.com"], "capacity": {"max_accounts": 1}}}
    explainer, account = small(route)
    text = explainer.explain_account(account)
    assert "ineligible: at capacity (1 accounts)" in text
    assert "No eligible farmer: route all: no eligible farmer among 1" in text
    assert "Outcome: skipped (no-eligible-farmer)" in text


def test_inactive_owner_kept_when_the_rules_say_so() -> None:
    route = {"id": "all", "assign": {"pool": {"role": "farmer"}}}
    explainer, _ = small(route, from_inactive_owners=False)
    text = explainer.explain_account(explainer.book.accounts["c2"])
    assert "Its owner is inactive; handoff.from_inactive_owners is false: it stays." in text
    explainer, _ = small(route)
    text = explainer.explain_account(explainer.book.accounts["c2"])
    assert "handoff.from_inactive_owners is true: it may move." in text
    assert "Outcome: hand off to Fran" in text


def test_an_override_is_the_whole_trail() -> None:
    roles = dict(
        ROLES, overrides=[{"owner": "hank@example.com", "role": "farmer", "reason": "KAM"}]
    )
    explainer = Explainer(
        Book([owner("hank")], [], []),
        RolesFile.model_validate(roles),
        RoutingFile.model_validate(routing({"id": "all", "assign": {"pool": {"role": "farmer"}}})),
        AS_OF,
    )
    text = explainer.explain_owner(explainer.book.owners["hank"])
    assert "an override names them (hank@example.com): farmer, because KAM" in text


# -- the command --------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_explain_command_on_the_book(fresh: Path, explainer: Explainer) -> None:
    change = explainer.plan.changes[0]
    args = ["-c", str(fresh / "demo.yaml"), "-r", str(fresh / "rules"), "--as-of", DEMO_AS_OF]
    code, out, err = run("explain", change.account_id, *args)
    assert code == 0, err
    assert f"on route {change.rule_id}" in out and "Picked " in out
    assert re.fullmatch(r"pulled 13 owners, \d+ accounts\n", err)  # progress: not a terminal
    code, out, _ = run("explain", "nobody-at-all", *args)
    assert code == 1


def test_explain_command_from_a_past_run(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    code, out, err = run("demo", "--dir", str(folder), "--as-of", DEMO_AS_OF)
    assert code == 0, err
    account = re.search(r"rolesync explain (\S+) -c", out).group(1)  # type: ignore[union-attr]
    profile = ["-c", str(folder / "demo.yaml")]
    code, out, err = run("explain", account, *profile, "--run", "latest")
    assert code == 0, err
    assert re.search(r"first new business won \d{4}-\d\d-\d\d, handoff due", out)
    assert "route everyone-else: round robin, turn 1 of 6 in the pool" in out
    assert "Outcome: applied." in out
    code, out, err = run("explain", "hannah.schulz@example.com", *profile, "--run", "latest")
    assert code == 0 and "Role: farmer; farmer-by-deal-mix" in out
    assert "received" in out
    code, _, err = run("explain", account, *profile, "--run", "latest", "--as-of", DEMO_AS_OF)
    assert code == 2 and "--as-of does not go with --run" in err
