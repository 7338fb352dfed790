"""The HTML page and its SVG charts, as text: escaped, self-contained, accessible."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

import pytest

from roleSync.report.assets import CSS
from roleSync.report.data import ReportData, SkipRow
from roleSync.report.html import CHART_IDS, render_html
from roleSync.report.html_metrics import metric_header
from roleSync.report.svg import (
    BarRow,
    Dot,
    Series,
    _overlaps,
    _place_label,
    bars,
    nice_ticks,
    scatter,
)
from test_report_data import EVIL, FORMULA, data

SERIES = (Series("a", "a", "#000000"),)
SECTIONS = (
    "roles",
    "titles",
    "balance",
    "handoffs",
    "carried",
    "tasks",
    "skipped",
    "metrics",
    "health",
)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(data())


def test_crm_text_is_escaped_everywhere(page: str) -> None:
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # The one script on the page is ours (the table sorter).
    assert page.count("<script") == 1
    assert FORMULA not in page  # its quotes are escaped too


def test_page_is_self_contained(page: str) -> None:
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Links only within the page; the one URL in a tag is the SVG namespace, never fetched.
    assert set(re.findall(r'href="([^"]*)"', page)) <= {f"#{s}" for s in SECTIONS}
    in_tags = {
        u for tag in re.findall(r"<[^>]+>", page) for u in re.findall(r"https?://[^\s\"]+", tag)
    }
    assert in_tags == {"http://www.w3.org/2000/svg"}
    for fetching in ("<link", " src=", "@import", "<iframe", "<object"):
        assert fetching not in page
    # url() only to a pattern in the page itself (the hatching of skipped bars).
    assert not re.search(r"url\((?!#)", page)


def _csp_sources(page: str) -> dict[str, list[str]]:
    (policy,) = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_allows_only_the_pages_own_inline_script_and_style_by_hash(page: str) -> None:
    csp = _csp_sources(page)
    assert "'unsafe-inline'" not in page and "'unsafe-eval'" not in page
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert csp["script-src"] == [_sha256_source(script)]
    assert csp["style-src"] == [_sha256_source(style)]
    # Hashes cover elements, not attributes: none may need 'unsafe-inline' to work.
    assert not re.search(r"<[^>]*\s(style|on[a-z]+)=", page)


def test_every_chart_is_there_accessible_and_has_marks(page: str) -> None:
    for chart_id in CHART_IDS:
        tag = re.search(rf'<svg class="chart" id="{chart_id}"[^>]*>', page)
        assert tag, chart_id
        assert 'role="img"' in tag.group(0)
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in tag.group(0)
        count = int(re.search(r'data-mark-count="(\d+)"', tag.group(0)).group(1))  # type: ignore[union-attr]
        assert count > 0, chart_id
        body = page[tag.end() : page.index("</svg>", tag.end())]
        assert f'<title id="{chart_id}-title">' in body and f'<desc id="{chart_id}-desc">' in body
        assert body.count("data-mark=") == count


def test_role_map_marks_the_owner_whose_title_disagrees(page: str) -> None:
    start = page.index('data-chart="role-map"')
    chart = page[start : page.index("</svg>", start)]
    assert chart.count('class="halo"') == 1
    assert "Account Manager, works as a hunter" in chart


def test_tables_sortable_and_sections_titled(page: str) -> None:
    assert '<table data-sortable="" id="role-metrics">' in page
    assert page.count('<th scope="col" class="num" title=') >= 12  # one per metric
    for section in SECTIONS:
        assert f'<section id="{section}" aria-labelledby="{section}-h">' in page
    assert "<title>roleSync run r1 (test)</title>" in page


def _polish_data() -> ReportData:
    """The hand-made run with its first balance owner inactive and two skipped accounts."""
    base = data()
    inactive = base.balance[0].owner_id
    owners = tuple(replace(o, active=o.owner_id != inactive) for o in base.owners)
    skips = tuple(
        SkipRow(f"acc-s{i}", "Skipped Co", None, "-", "locked", "the account is locked")
        for i in range(2)
    )
    return replace(base, owners=owners, skipped=skips)


def test_every_chart_has_a_visible_title_with_units(page: str) -> None:
    for chart_id in CHART_IDS:
        caption = re.search(
            rf'<figure><figcaption class="chart-title" id="{chart_id}-caption">([^<]+)'
            rf'</figcaption><svg class="chart" id="{chart_id}"',
            page,
        )
        assert caption, chart_id
        title = caption.group(1)
        assert re.search(r"\((accounts|amounts in the CRM&#x27;s currency)\)$", title), title
        # The same words for screen readers, in the SVG's own title.
        assert f'<title id="{chart_id}-title">{title}</title>' in page


def test_skipped_bars_are_hatched_and_labelled_not_only_coloured() -> None:
    page = render_html(_polish_data())
    start = page.index('data-chart="run-outcome"')
    chart = page[start : page.index("</svg>", start)]
    assert '<pattern id="run-outcome-skipped"' in chart
    (skipped,) = re.findall(r'<rect data-mark=""[^>]*class="bar skipped">', chart)
    assert 'fill="url(#run-outcome-skipped)"' in skipped
    assert "skipped: locked" in chart
    # Handoffs keep their plain colour, and a run without skips defines no pattern.
    assert chart.count('class="bar"') == 4
    assert "<pattern" not in render_html(data())


def test_inactive_owners_are_marked_and_muted() -> None:
    polished = _polish_data()
    page = render_html(polished)
    name = next(o.name for o in polished.owners if not o.active)
    # Shown on the role map, both balance charts and the three metrics tables (and in
    # tooltips).
    assert page.count(f">{name} (inactive)<") == 6
    assert page.count('class="label muted"') == 3  # the role map and both balance charts
    assert page.count('class="bar muted"') == 4  # before and after, in both charts
    assert page.count('<tr class="inactive">') == 3  # deal mix, farming, hunting
    assert "(inactive)" not in render_html(data())


def test_metric_headers_are_words_with_the_name_in_the_tooltip(page: str) -> None:
    assert metric_header("new_business_share") == "New business share"
    assert metric_header("avg_sales_cycle_days") == "Average sales cycle days"
    assert '<button type="button">New business share</button>' in page
    assert 'title="managed_revenue: amount won in the window' in page
    heads = re.findall(r'<th scope="col"[^>]*><button type="button">([^<]*)</button>', page)
    assert heads and not [h for h in heads if "_" in h]


def test_print_stylesheet_unboxes_every_table() -> None:
    (printed,) = re.findall(r"@media print \{(.*?)\n\}", CSS, flags=re.S)
    assert ".scroll { max-height: none; overflow: visible;" in printed
    assert "th { position: static; }" in printed


def test_revenue_unknown_is_said_not_drawn() -> None:
    page = render_html(data(revenue=False))
    assert "rolesync report --pull" in page
    start = page.index('data-chart="balance-revenue"')
    # Only the "before" bars: one per farmer.
    assert re.search(r'data-mark-count="(\d+)"', page[start - 200 :]).group(1) == "2"  # type: ignore[union-attr]


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(25_519_200)[-1] == 30_000_000
    assert nice_ticks(400) == [0, 100, 200, 300, 400]
    assert nice_ticks(11) == [0, 2.5, 5.0, 7.5, 10.0, 12.5]


def test_labels_find_free_spots_in_a_crowd() -> None:
    taken: list[tuple[float, float, float, float]] = []
    for _ in range(12):  # a dozen owners at the very same point
        box, _lead = _place_label(400, 300, 120, 30, taken, (0, 0, 960, 600))
        assert not any(_overlaps(box, t) for t in taken)
        taken.append(box)


def test_charts_without_data_say_so() -> None:
    empty = scatter("x", "t", "d", [], SERIES, x_label="x", y_label="y", flag_label="f")
    assert 'data-mark-count="0"' in empty and "nothing to plot" in empty
    assert "nothing to show" in bars("b", "t", "d", [], SERIES, fmt=str)


def test_zero_bars_are_a_visible_sliver_and_none_draws_nothing() -> None:
    svg = bars("b", "t", "d", [BarRow("z", (0.0,)), BarRow("n", (None,))], SERIES, fmt=str)
    assert 'data-mark-count="1"' in svg
    assert 'width="1.5"' in svg


def test_scatter_escapes_labels_and_tooltips() -> None:
    dot = Dot(EVIL, EVIL, 1.0, 2.0, "a", True, EVIL)
    svg = scatter(
        "s",
        EVIL,
        EVIL,
        [dot, replace(dot, flagged=False)],
        SERIES,
        x_label=EVIL,
        y_label="y",
        flag_label="f",
    )
    assert "<script" not in svg


def _table_of(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def test_farming_and_hunting_metrics_have_tables_of_their_own(page: str) -> None:
    # One table per group: all 27 metrics in one would scroll sideways.
    for table_id in ("role-metrics", "farming-metrics", "hunting-metrics"):
        assert page.count(f'id="{table_id}"') == 1
    farming = _table_of(page, "farming-metrics")
    for header in ("Renewal rate", "Starting revenue", "Churned accounts", "Contracted amount"):
        assert f'<button type="button">{header}</button>' in farming
    assert 'title="gross_revenue_retention: (starting revenue - churned' in farming
    # Nobody in the hand-made run had revenue at the window's start: empty, not 0 %.
    # Per owner: renewal rate, gross and net retention, expansion rate.
    assert farming.count('data-sort="">-</td>') == 3 * 4
    hunting = _table_of(page, "hunting-metrics")
    assert '<button type="button">Average new business deal size</button>' in hunting
    # hank won five new customers, 1000 .. 5000: five logos, all won, 3,000 on average.
    row = re.search(r"<tr><td>&lt;script&gt;.*?</tr>", hunting)
    assert row is not None
    cells = re.findall(r'<td class="num" data-sort="[^"]*">([^<]*)</td>', row.group(0))
    assert cells[:3] == ["5", "100%", "3,000"]
