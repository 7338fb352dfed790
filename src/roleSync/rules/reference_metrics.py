"""The "Metrics" part of the rule-file reference: every metric with its formula and its
edge cases, by group, a worked example and a roles file using the farming and hunting
metrics.

The worked example is computed while the reference is generated and compared with the
figures the prose gives, and the roles file is validated: a change to a formula or a
name that the prose did not follow fails the build.
"""

from __future__ import annotations

from datetime import date, timedelta

from roleSync.metrics import METRIC_GROUPS, METRIC_HELP, RoleMetrics, compute_role_metrics
from roleSync.model import Account, Book, Deal, DealKind, Owner
from roleSync.rules.loader import load_yaml_text, validate
from roleSync.rules.schema import RolesFile

_GROUP_TITLES = {
    "deal mix": "Deal mix",
    "farming": "Farming: renewals and revenue retention",
    "hunting": "Hunting: new business",
}

ROLES_EXAMPLE = """\
version: 1
kind: roles
window_days: 365
classify:
  - id: hunter-by-new-logos
    role: hunter
    when:
      all:
        - {metric: new_logos, op: gte, value: 3}
        - {metric: new_business_win_rate, op: gte, value: 0.2}
  - id: farmer-by-renewals
    role: farmer
    when:
      all:
        - {metric: renewal_closed_count, op: gte, value: 3}
        - {metric: renewal_rate, op: gte, value: 0.5}
        - {metric: new_logos, op: lte, value: 1}
  - id: no-clear-mix
    role: unclassified
"""

# The worked example: as_of, the window, and fay's book (account, kind, amount, days
# before as_of it closed, won).
_AS_OF = date(2026, 6, 30)
_WINDOW = 365
_EXAMPLE: tuple[tuple[str, DealKind, float, int, bool], ...] = (
    ("a1", DealKind.NEW_BUSINESS, 1000.0, 500, True),
    ("a1", DealKind.RENEWAL, 1000.0, 135, True),
    ("a1", DealKind.EXPANSION, 200.0, 60, True),
    ("a2", DealKind.RENEWAL, 500.0, 400, True),
    ("a2", DealKind.RENEWAL, 500.0, 35, False),
    ("a3", DealKind.NEW_BUSINESS, 800.0, 600, True),
    ("a3", DealKind.CONTRACTION, 300.0, 235, True),
)
# What the prose says the example gives.
_EXAMPLE_FIGURES = {
    "starting_revenue": 2300.0,
    "churned_accounts": 1,
    "churned_amount": 500.0,
    "contracted_amount": 300.0,
    "book_expansion_amount": 200.0,
    "gross_revenue_retention": 0.6522,
    "net_revenue_retention": 0.7391,
    "expansion_rate": 0.087,
    "renewal_rate": 0.5,
}


def _example_metrics() -> RoleMetrics:
    deals = [
        Deal(
            f"d{i}",
            account,
            "fay",
            kind,
            "closed",
            True,
            won,
            amount,
            _AS_OF - timedelta(days=ago + 30),
            _AS_OF - timedelta(days=ago),
        )
        for i, (account, kind, amount, ago, won) in enumerate(_EXAMPLE)
    ]
    accounts = [Account(a, a.upper(), "fay", lifecycle="customer") for a in ("a1", "a2", "a3")]
    book = Book([Owner("fay", "Fay", "fay@example.com")], accounts, deals)
    return compute_role_metrics(book, _AS_OF, _WINDOW)["fay"]


def _checked_worked_example() -> None:
    figures = _example_metrics().as_dict()
    stale = {k: figures[k] for k, v in _EXAMPLE_FIGURES.items() if figures[k] != v}
    if stale:
        raise AssertionError(f"the worked example in the metrics reference went stale: {stale}")


def _checked_roles_example() -> str:
    validate(load_yaml_text(ROLES_EXAMPLE, "<example metrics>"), RolesFile)
    return ROLES_EXAMPLE


def metrics_section() -> list[str]:
    """The reference's "Metrics" section, as Markdown lines."""
    _checked_worked_example()
    lines = [
        "### Metrics (roles files)",
        "",
        "Every metric is computed per owner over the trailing window (`window_days` ending on "
        "the run's day: a deal counts when it closed in `(as_of - window_days, as_of]`), for "
        "the book as it will be after the run's own moves. A deal with a blank owner counts "
        "for its account's owner. A deal without an amount counts in every count and adds "
        "nothing to any amount. Ratios are rounded to 4 decimals, amounts to 2, days to 1. "
        "An empty value (a ratio with nothing to divide by) matches only `ne` and `not_in`.",
        "",
    ]
    for group, names in METRIC_GROUPS.items():
        lines += [f"#### {_GROUP_TITLES[group]}", "", "| metric | meaning |", "|---|---|"]
        lines += [f"| `{m}` | {METRIC_HELP[m]} |" for m in names]
        lines.append("")
    lines += [
        "#### How renewals and retention are measured",
        "",
        "- **Renewal rate** is the renewal win rate: `renewal_won_count / "
        "renewal_closed_count`, over the renewal deals the owner closed in the window. With "
        "no renewal due (none closed) it is empty, not 0. `new_business_win_rate` is the same "
        "over new-business deals (a hunter's conversion); `win_rate` still mixes every kind.",
        "- **The starting book** is the accounts the owner owns now whose won amount (new "
        "business, expansion, renewal) in the window *before* the metrics window, as long "
        "as it, is above 0: their revenue at the window's start. `starting_revenue` is its "
        "sum. It counts bookings: revenue booked before that (a multi-year contract signed "
        "earlier) is not in it. Accounts first won inside the window are new business, not "
        "retention: none of their deals counts here.",
        "- **Churned**: an account of the starting book that closed a renewal lost in the "
        "window and none won. Its whole starting revenue is `churned_amount`, and nothing "
        "else of it counts (its contraction or expansion in the window included).",
        "- **Contracted**: won contraction deals in the window on the starting book's "
        "accounts that did not churn. A contraction's amount is the size of the reduction; "
        "a negative amount is read as its size (-250 reduces by 250). "
        "`book_expansion_amount`: won expansion deals in the window on those accounts, "
        "whoever won them (`expansion_won_amount` is the owner's own expansion wins on any "
        "account). A renewal won keeps the revenue and changes nothing; a price increase "
        "counts only if it is booked as expansion.",
        "- `gross_revenue_retention = (starting_revenue - churned_amount - contracted_amount) "
        "/ starting_revenue`, from 0 to 1: contraction larger than the book reads 0. "
        "`net_revenue_retention` adds `book_expansion_amount` to the numerator: above 1 when "
        "expansion outgrew the losses, below 1 when contraction is larger than expansion, "
        "never below 0. `expansion_rate = book_expansion_amount / starting_revenue` (net "
        "minus gross, unless gross was raised to 0). All three are empty for a book with no "
        "revenue at the window's start (a new farmer, or a book of new customers).",
        "- **New logos**: accounts whose first won new-business deal (the handoff trigger) "
        "closed in the window, counted for that deal's owner.",
        "- **Pulls**: starting revenue reads won deals from the window before. Pulls keep "
        "every won deal whatever its date (the handoff trigger needs an account's first "
        "win), so nothing more is read; a CSV export must reach back two windows for it.",
        "",
        "Worked example, `window_days: 365` to 2026-06-30: fay owns a1 (1,000 of new "
        "business won the year before; renewed; 200 of expansion), a2 (a 500 renewal the "
        "year before; this year's renewal lost) and a3 (800 won the year before; 300 "
        "contracted). `starting_revenue` 2,300; a2 churned: `churned_accounts` 1, "
        "`churned_amount` 500; `contracted_amount` 300; `book_expansion_amount` 200. "
        "Gross retention (2,300 - 500 - 300) / 2,300 = 0.6522; net (1,500 + 200) / 2,300 = "
        "0.7391; `expansion_rate` 200 / 2,300 = 0.087; `renewal_rate` 1 / 2 = 0.5.",
        "",
        "A roles file classifying by these metrics:",
        "",
        "```yaml",
        _checked_roles_example().rstrip(),
        "```",
        "",
    ]
    return lines
