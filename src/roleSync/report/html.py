"""The run report as one self-contained HTML page: inline CSS, inline SVG charts and a
few lines of inline script for sorting tables. No network: a Content-Security-Policy
forbids every fetch, so the page works from an email attachment or an air-gapped share,
and runs no inline code but its own stylesheet and script (allowed by their hashes).

Pure: `render_html(ReportData)` returns the page. Every CRM-sourced text is escaped.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from roleSync import __version__
from roleSync.report.assets import CSS, SCRIPT, content_security_policy
from roleSync.report.data import BalanceRow, ReportData
from roleSync.report.fmt import money, money_full, number
from roleSync.report.html_metrics import metric_tables, owner_name
from roleSync.report.html_related import (
    carried_section,
    related_cards,
    related_warning,
    tasks_left_line,
    tasks_section,
)
from roleSync.report.html_table import Cell, plain, table
from roleSync.report.related import trigger_text
from roleSync.report.svg import BarRow, Dot, Series, bars, scatter

# Okabe-Ito colours: told apart with the common colour-vision deficiencies, and each
# dark enough for white text and a white background.
ROLE_SERIES = (
    Series("hunter", "hunter", "#D55E00"),
    Series("farmer", "farmer", "#0072B2"),
    Series("unclassified", "unclassified", "#6E6E6E"),
)
BEFORE_AFTER = (Series("before", "before the run", "#9DB9D3"), Series("after", "after", "#0072B2"))
OUTCOME_SERIES = (Series("n", "accounts", "#009E73"),)
CHART_IDS = ("role-map", "balance-accounts", "balance-revenue", "run-outcome")

# Units for chart titles. The report does not know the book's currency (the export may
# write $, EUR, ...), so amounts are labelled as in the CRM's currency, never a guess.
_AMOUNT_UNITS = "amounts in the CRM's currency"


def _figure(chart_id: str, title: str, svg: str) -> str:
    """A chart with its title shown above it (the SVG's <title> is for screen readers
    and tooltips only)."""
    return (
        f'<figure><figcaption class="chart-title" id="{escape(chart_id)}-caption">'
        f"{escape(title)}</figcaption>{svg}</figure>"
    )


ROLE_MAP_TITLE = f"Role map: new business won against revenue managed, per owner ({_AMOUNT_UNITS})"


def _role_map(data: ReportData) -> str:
    dots = [
        Dot(
            owner_name(o.name, o.active),
            f"{o.title or 'no title'}, works as a {o.role}" if o.title_disagrees else o.title,
            o.metrics.new_business_won_amount,
            o.metrics.managed_revenue,
            o.role,
            o.title_disagrees,
            f"{o.name} ({o.title or 'no title'}): {o.role}; new business won "
            f"{money_full(o.metrics.new_business_won_amount)}, revenue managed "
            f"{money_full(o.metrics.managed_revenue)}" + ("" if o.active else "; inactive"),
            muted=not o.active,
        )
        for o in data.owners
    ]
    return _figure(
        "role-map",
        ROLE_MAP_TITLE,
        scatter(
            "role-map",
            ROLE_MAP_TITLE,
            "Each owner is a point: farther right won more new business, higher up manages "
            "more revenue. Colour is the role the rules classified from the deal mix; ringed "
            "diamonds are owners whose title says the other role.",
            dots,
            ROLE_SERIES,
            x_label=f"new business won, last {data.run.window_days} days (hunting)",
            y_label="revenue managed on owned accounts (farming)",
            flag_label="title says otherwise",
        ),
    )


def _balance_charts(data: ReportData) -> str:
    rows = sorted(data.balance, key=lambda b: b.name.casefold())
    active = {o.owner_id: o.active for o in data.owners}

    def row(b: BalanceRow, values: tuple[float | None, ...]) -> BarRow:
        on = active.get(b.owner_id, True)
        return BarRow(owner_name(b.name, on), values, muted=not on)

    after_accounts = [b.accounts_after for b in rows]
    accounts_title = "Accounts per farmer, before and after the run (accounts)"
    accounts = bars(
        "balance-accounts",
        accounts_title,
        "Horizontal bars, two per farmer: accounts owned before the run and after its "
        "handoffs. The dashed line is the average after the run.",
        [row(b, (b.accounts_before, b.accounts_after)) for b in rows],
        BEFORE_AFTER,
        fmt=number,
        reference=sum(after_accounts) / len(rows) if rows else None,
        reference_label="average after",
        width=640,
    )
    known = [b.revenue_after for b in rows if b.revenue_after is not None]
    revenue_title = f"Revenue managed per farmer, before and after the run ({_AMOUNT_UNITS})"
    revenue = bars(
        "balance-revenue",
        revenue_title,
        "Horizontal bars, two per farmer: revenue managed before the run and after its "
        "handoffs. The dashed line is the average after the run.",
        [row(b, (b.revenue_before, b.revenue_after)) for b in rows],
        BEFORE_AFTER,
        fmt=money,
        reference=sum(known) / len(known) if known else None,
        reference_label="average after",
        width=640,
    )
    note = (
        ""
        if data.revenue_known
        else '<p class="meta">Revenue after the run is not shown: the moved accounts\' '
        "revenue needs the book (<code>rolesync report --pull</code>).</p>"
    )
    return (
        f'<div class="charts">{_figure("balance-accounts", accounts_title, accounts)}'
        f"{_figure('balance-revenue', revenue_title, revenue)}</div>{note}"
    )


def _outcome_chart(data: ReportData) -> str:
    run = data.run
    rows = [
        BarRow("handed off", (float(run.applied),)),
        BarRow("already with the farmer", (float(run.already_applied),)),
        BarRow("conflict (changed by hand)", (float(run.conflicts),)),
        BarRow("failed", (float(run.failed),)),
    ]
    for code, n in sorted(Counter(s.code for s in data.skipped).items()):
        rows.append(BarRow(f"skipped: {code}", (float(n),), skipped=True))
    title = "What the run did with the accounts due for a handoff (accounts)"
    return _figure(
        "run-outcome",
        title,
        bars(
            "run-outcome",
            title,
            "Horizontal bars: accounts handed off, already with their farmer, in conflict, "
            "failed, and skipped by reason; skipped bars are hatched.",
            rows,
            OUTCOME_SERIES,
            fmt=number,
        ),
    )


def _cards(data: ReportData) -> str:
    run = data.run
    cards = [
        ("owners", str(len(data.owners))),
        ("hunters", str(data.role_count("hunter"))),
        ("farmers", str(data.role_count("farmer"))),
        ("titles that say otherwise", str(len(data.title_disagreements))),
        ("handed off", str(run.applied)),
        ("skipped", str(run.skipped)),
        ("conflicts + failed", str(run.conflicts + run.failed)),
    ]
    if run.full_routes:
        cards.append(("full routes (no eligible farmer)", run.full_routes))
    cards += related_cards(data)
    if run.metric_conflicts:
        cards.append(
            ("metric conflicts (values changed since the plan)", str(run.metric_conflicts))
        )
    items = "".join(f"<li><b>{escape(v)}</b>{escape(k)}</li>" for k, v in cards)
    return f'<ul class="cards" aria-label="run summary">{items}</ul>'


def _handoff_rows(data: ReportData) -> list[list[Cell]]:
    rows = []
    for h in data.handoffs:
        outcome = h.outcome + (f": {h.outcome_detail}" if h.outcome_detail else "")
        rows.append(
            [
                plain(h.account_id),
                plain(h.account_name),
                plain(h.from_name),
                plain(h.to_name),
                plain(h.rule_id),
                plain(trigger_text(h.trigger, h.handoff_id)),
                plain(h.reason),
                plain(outcome),
            ]
        )
    return rows


def render_html(data: ReportData) -> str:
    run = data.run
    problems = run.conflicts + run.failed
    disagreements = table(
        "Owners whose title says one role while their deal mix says the other.",
        [
            (h, "", False)
            for h in ("owner", "title", "works as", "rule", "the figures that decided")
        ],
        [
            [plain(v) for v in (o.name, o.title, o.role, o.rule_id or "-", o.reason)]
            for o in data.title_disagreements
        ],
    )
    handoffs = table(
        "Every planned handoff with its route, its reason and what happened to it.",
        [
            (h, "", False)
            for h in ("account", "name", "from", "to", "route", "trigger", "why", "outcome")
        ],
        _handoff_rows(data),
    )
    skipped = table(
        "Accounts due for a handoff that did not move, and why.",
        [(h, "", False) for h in ("account", "name", "owner", "code", "why")],
        [
            [plain(v) for v in (s.account_id, s.account_name, s.owner_name, s.code, s.reason)]
            for s in data.skipped
        ],
    )
    health = table(
        "Book health findings the run was planned with (see docs/data-quality.md).",
        [
            (h, "", n)
            for h, n in (
                ("severity", False),
                ("check", False),
                ("rows", True),
                ("what", False),
                ("e.g.", False),
            )
        ],
        [
            [
                plain(h.severity),
                plain(h.code),
                (f"{h.count:,}", str(h.count)),
                plain(h.message),
                plain(h.examples),
            ]
            for h in data.book_health
        ],
    )
    title = f"roleSync run {run.run_id} ({run.profile})"
    warning = (
        f'<p class="bad">{problems} planned handoffs did not go through: see the outcome '
        "column.</p>"
        if problems
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{content_security_policy(CSS, SCRIPT)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{escape(title)}</h1>
<p class="meta">{escape(run.mode)} as of {run.as_of.isoformat()}, started \
{escape(run.started.isoformat())}; roles from the last {run.window_days} days of deals; \
rules {escape(run.rules_digest)}</p>
{_cards(data)}
{warning}
{related_warning(data)}
{tasks_left_line(data)}
<nav aria-label="sections"><a href="#roles">Role map</a><a href="#titles">Titles</a>\
<a href="#balance">Farmers' books</a><a href="#handoffs">Handoffs</a>\
<a href="#carried">Records carried</a><a href="#tasks">Handoff tasks</a>\
<a href="#skipped">Skipped</a><a href="#metrics">Role metrics</a>\
<a href="#health">Book health</a></nav>
</header>
<section id="roles" aria-labelledby="roles-h">
<h2 id="roles-h">Who hunts, who farms</h2>
<p class="lead">Hunters sit bottom right (much new business, small books), farmers top \
left. A ringed diamond is an owner whose title says the other role.</p>
{_role_map(data)}
</section>
<section id="titles" aria-labelledby="titles-h">
<h2 id="titles-h">Titles that say otherwise ({len(data.title_disagreements)})</h2>
{disagreements}
</section>
<section id="balance" aria-labelledby="balance-h">
<h2 id="balance-h">Farmers' books before and after the run</h2>
{_balance_charts(data)}
</section>
<section id="handoffs" aria-labelledby="handoffs-h">
<h2 id="handoffs-h">Handoffs ({run.applied} of {run.planned} planned went through)</h2>
{_outcome_chart(data)}
{handoffs}
</section>
{carried_section(data)}
{tasks_section(data)}
<section id="skipped" aria-labelledby="skipped-h">
<h2 id="skipped-h">Skipped ({run.skipped})</h2>
{skipped}
</section>
<section id="metrics" aria-labelledby="metrics-h">
<h2 id="metrics-h">Role metrics</h2>
{metric_tables(data)}
</section>
<section id="health" aria-labelledby="health-h">
<h2 id="health-h">Book health ({len(data.book_health)} findings)</h2>
{health}
</section>
<footer>Made by roleSync {escape(__version__)} from runs/{escape(run.run_id)}/plan.json \
and report.json. Self-contained: no network, no external fonts or scripts.</footer>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
