"""The report's role-metric tables: one per group of metrics (metrics.METRIC_GROUPS),
headers in words, each value formatted as what it is (a percentage, an amount, a count).

Pure: report data in, HTML out. Every CRM-sourced text is escaped by `html_table`.
"""

from __future__ import annotations

from roleSync.metrics import AMOUNT_METRICS, METRIC_GROUPS, METRIC_HELP, PERCENT_METRICS
from roleSync.report.data import OwnerRow, ReportData
from roleSync.report.fmt import money_full, number, share
from roleSync.report.html_table import Cell, plain, table

INACTIVE = " (inactive)"

# Per group of metrics: its table's id and caption. The deal mix keeps the id
# `role-metrics` it had when it was the only table.
_METRIC_TABLES = {
    "deal mix": ("role-metrics", "Role metrics per owner: the deal mix"),
    "farming": ("farming-metrics", "Farming: renewals and revenue retention of each book"),
    "hunting": ("hunting-metrics", "Hunting: new logos, conversion, deal size and cycle"),
}
_LEAD_TIPS = {
    "owner": "",
    "title": "",
    "role": "the classified role",
    "rule": "the rule that decided",
}


def owner_name(name: str, active: bool) -> str:
    return name if active else name + INACTIVE


def metric_header(name: str) -> str:
    """A metric's column header in words: new_business_share -> "New business share"."""
    words = name.replace("_", " ").replace("avg ", "average ")
    return words[:1].upper() + words[1:]


def metric_cell(name: str, value: float | None) -> Cell:
    key = "" if value is None else repr(value)
    if name in PERCENT_METRICS:
        return (share(value), key)
    if name in AMOUNT_METRICS:
        return (money_full(value), key)
    return (number(value), key)


def metric_tables(data: ReportData) -> str:
    """One table per group of metrics: one table of all of them would scroll sideways."""
    return "\n".join(_metric_table(data, group) for group in METRIC_GROUPS)


def _lead(o: OwnerRow) -> dict[str, Cell]:
    return {
        "owner": plain(owner_name(o.name, o.active)),
        "title": plain(o.title + (" (says otherwise)" if o.title_disagrees else "")),
        "role": plain(o.role),
        "rule": plain(o.rule_id or "no rule matched"),
    }


def _metric_table(data: ReportData, group: str) -> str:
    names = METRIC_GROUPS[group]
    table_id, caption = _METRIC_TABLES[group]
    # The title and the deciding rule once, in the first table: the others are wide enough.
    lead = list(_LEAD_TIPS) if group == next(iter(METRIC_GROUPS)) else ["owner", "role"]
    headers = [
        *((h, _LEAD_TIPS[h], False) for h in lead),
        *((metric_header(m), f"{m}: {METRIC_HELP[m]}", True) for m in names),
    ]
    rows = [
        [
            *(cells[h] for h in lead),
            *(metric_cell(m, getattr(o.metrics, m)) for m in names),
        ]
        for o in data.owners
        for cells in (_lead(o),)
    ]
    return table(
        f"{caption}; click a column to sort.",
        headers,
        rows,
        sortable=True,
        table_id=table_id,
        row_classes=["" if o.active else "inactive" for o in data.owners],
    )
