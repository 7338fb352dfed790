"""Number formats shared by the HTML report, the charts and `explain`."""

from __future__ import annotations


def money(value: float) -> str:
    """Short amounts for axes and bar labels: 950, 12k, 3.4M."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1_000_000:
        return f"{sign}{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{sign}{value / 1_000:.0f}k"
    return f"{sign}{value:.0f}"


def money_full(value: float | None) -> str:
    """Exact amounts for tables and explanations: 1,234,567."""
    return "-" if value is None else f"{value:,.0f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def number(value: float | None) -> str:
    """A figure as people write it: no exponent, no trailing zeros, `-` when empty."""
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return format(round(value, 4), ",f").rstrip("0").rstrip(".")
