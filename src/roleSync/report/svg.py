"""Charts as inline SVG text, drawn in Python: no chart library, no script, no network.

Pure: values in, SVG text out. Every chart is an `<svg class="chart" role="img">` with a
`<title>` and `<desc>` for screen readers, `data-chart` naming it and `data-mark-count`
saying how many marks (points, bars) it draws, each carrying `data-mark`: the browser
test counts them to prove a chart rendered. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from roleSync.report.fmt import money

Format = Callable[[float], str]

TEXT = "#1f2328"
MUTED = "#57606a"
GRID = "#d8dee4"
# Approximate advance widths of the report's sans-serif at 12px and 11px, for laying
# labels out without a font engine; generous so labels rarely overlap in practice.
_CHAR_12 = 7.0
_CHAR_11 = 6.2


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class Dot:
    label: str  # first line, e.g. the owner's name
    note: str  # second line, e.g. the title
    x: float
    y: float
    series: str  # a Series key
    flagged: bool  # drawn as a ringed diamond: where the eye should land
    tooltip: str
    muted: bool = False  # an inactive owner: greyed label, faded point


@dataclass(frozen=True, slots=True)
class BarRow:
    label: str
    values: tuple[float | None, ...]  # one per series; None draws no bar
    # A skipped row's bars are hatched in their own colour, so they differ from the
    # others by pattern as well as colour (and the label says so): not colour alone.
    skipped: bool = False
    muted: bool = False  # an inactive owner: greyed label, faded bars


SKIPPED_COLOUR = "#CC79A7"


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high` (steps of 1, 2, 2.5 or 5 x 10^n)."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(high / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, description: str, width: int, height: int, marks: int) -> str:
    return (
        f'<svg class="chart" id="{_attr(chart_id)}" data-chart="{_attr(chart_id)}" '
        f'data-mark-count="{marks}" role="img" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{_attr(chart_id)}-desc">{escape(description)}</desc>'
    )


def _legend(series: Sequence[Series], x: float, y: float) -> tuple[str, float]:
    """Colour keys in a row from (x, y); returns them and where the next key may go."""
    parts = []
    for s in series:
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="12" height="12" rx="2" '
            f'fill="{_attr(s.colour)}"/>'
            f'<text x="{_num(x + 17)}" y="{_num(y + 1)}" class="legend">{escape(s.label)}</text>'
        )
        x += 17 + len(s.label) * _CHAR_12 + 20
    return "".join(parts), x


def _empty(chart_id: str, title: str, description: str, message: str) -> str:
    return (
        _open(chart_id, title, description, 960, 80, 0)
        + f'<text x="20" y="45" class="note">{escape(message)}</text></svg>'
    )


# -- scatter ----------------------------------------------------------------------

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_label(
    px: float, py: float, w: float, h: float, taken: list[Box], bounds: Box
) -> tuple[Box, bool]:
    """A free spot for a w x h label near (px, py): beside the point (right, then left),
    right above or below it, then beside it shifted up and down in growing steps.
    Returns the box and whether it is far enough from the point to need a leader line.
    Greedy, but 10-50 owners is what a report shows."""

    def beside(dy: float) -> list[Box]:
        top = py - h / 2 + dy
        return [(px + 11, top, px + 11 + w, top + h), (px - 11 - w, top, px - 11, top + h)]

    candidates = beside(0.0)
    for dy in (-h / 2 - 10, h / 2 + 10):
        candidates.append((px - w / 2, py + dy - h / 2, px + w / 2, py + dy + h / 2))
    for step in range(1, 12):
        for sign in (1, -1):
            candidates += beside(sign * step * (h / 2 + 2))
    inside = [
        c
        for c in candidates
        if c[0] >= bounds[0] and c[2] <= bounds[2] and c[1] >= bounds[1] and c[3] <= bounds[3]
    ]
    for box in inside:
        if not any(_overlaps(box, t) for t in taken):
            return box, abs((box[1] + box[3]) / 2 - py) > h
    return (inside[0] if inside else candidates[0]), False


def scatter(
    chart_id: str,
    title: str,
    description: str,
    dots: Sequence[Dot],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    flag_label: str,
    tick: Format = money,
    width: int = 960,
    height: int = 600,
) -> str:
    if not dots:
        return _empty(chart_id, title, description, "nothing to plot")
    left, right, top, bottom = 84.0, width - 16.0, 48.0, height - 58.0
    xs = nice_ticks(max(d.x for d in dots))
    ys = nice_ticks(max(d.y for d in dots))

    # Points sit a little inside the axes, so owners at zero do not hide on an axis line.
    pad = 12.0

    def sx(v: float) -> float:
        return left + pad + (right - left - pad) * v / xs[-1]

    def sy(v: float) -> float:
        return bottom - pad - (bottom - top - pad) * v / ys[-1]

    colours = {s.key: s.colour for s in series}
    out = [_open(chart_id, title, description, width, height, len(dots))]
    for v in xs:
        out.append(
            f'<line x1="{_num(sx(v))}" x2="{_num(sx(v))}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{_num(sx(v))}" y="{_num(bottom + 18)}" text-anchor="middle" '
            f'class="tick">{escape(tick(v))}</text>'
        )
    for v in ys:
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{_num(sy(v))}" y2="{_num(sy(v))}" class="grid"/>'
            f'<text x="{_num(left - 8)}" y="{_num(sy(v) + 4)}" text-anchor="end" '
            f'class="tick">{escape(tick(v))}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" class="axis"/>'
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" class="axis"/>'
        f'<text x="{_num((left + right) / 2)}" y="{height - 14}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
        f'<text transform="translate(18 {_num((top + bottom) / 2)}) rotate(-90)" '
        f'text-anchor="middle" class="axis-label">{escape(y_label)}</text>'
    )
    legend, x = _legend(series, left, 26)
    out.append(
        legend + f'<path d="M{_num(x + 6)} 14 l7 7 l-7 7 l-7 -7 z" class="flag"/>'
        f'<text x="{_num(x + 20)}" y="27" class="legend">{escape(flag_label)}</text>'
    )

    points = [(d, sx(d.x), sy(d.y)) for d in dots]
    # Points are obstacles for labels; flagged owners are labelled first, so they get
    # the best spots, then the rest from the top of the chart down.
    taken: list[Box] = [(px - 7, py - 7, px + 7, py + 7) for _, px, py in points]
    marks, labels = [], []
    for d, px, py in sorted(points, key=lambda p: (not p[0].flagged, p[2], p[1])):
        w = max(len(d.label) * _CHAR_12, len(d.note) * _CHAR_11) + 4
        box, lead = _place_label(px, py, w, 30, taken, (left + 2, top, width - 2.0, bottom))
        taken.append(box)
        colour = _attr(colours.get(d.series, MUTED))
        tip = f"<title>{escape(d.tooltip)}</title>"
        if d.flagged:
            marks.append(
                f'<circle cx="{_num(px)}" cy="{_num(py)}" r="14" class="halo"/>'
                f'<path data-mark="" d="M{_num(px)} {_num(py - 9)} l9 9 l-9 9 l-9 -9 z" '
                f'fill="{colour}" class="flagged">{tip}</path>'
            )
        else:
            dot_cls = "dot muted" if d.muted else "dot"
            marks.append(
                f'<circle data-mark="" cx="{_num(px)}" cy="{_num(py)}" r="6" '
                f'fill="{colour}" class="{dot_cls}">{tip}</circle>'
            )
        if lead:
            edge = box[0] if box[0] > px else box[2]
            labels.append(
                f'<line x1="{_num(px)}" y1="{_num(py)}" x2="{_num(edge)}" '
                f'y2="{_num((box[1] + box[3]) / 2)}" class="leader"/>'
            )
        if box[0] > px:
            anchor_x, anchor = box[0] + 2, "start"
        elif box[2] < px:
            anchor_x, anchor = box[2] - 2, "end"
        else:  # centred above or below the point
            anchor_x, anchor = (box[0] + box[2]) / 2, "middle"
        cls = "label flagged-label" if d.flagged else "label"
        cls += " muted" if d.muted else ""
        labels.append(
            f'<text x="{_num(anchor_x)}" y="{_num(box[1] + 12)}" text-anchor="{anchor}" '
            f'class="{cls}">{escape(d.label)}'
            f'<tspan x="{_num(anchor_x)}" dy="14" class="note">{escape(d.note)}</tspan></text>'
        )
    out.extend(marks)
    out.extend(labels)
    out.append("</svg>")
    return "".join(out)


# -- horizontal bars ----------------------------------------------------------------


def bars(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[BarRow],
    series: Sequence[Series],
    *,
    fmt: Format,
    reference: float | None = None,
    reference_label: str = "",
    width: int = 960,
) -> str:
    """One group of bars per row, one bar per series (before/after, or a single one)."""
    values = [v for r in rows for v in r.values if v is not None]
    if not rows or not values:
        return _empty(chart_id, title, description, "nothing to show")
    bar_h, gap = 14.0, 14.0
    group_h = len(series) * (bar_h + 3) - 3
    label_w = min(max(len(r.label) for r in rows) * _CHAR_12 + 16, 280)
    # Room on top only for a legend or the reference line's label.
    top = 62.0 if len(series) > 1 or reference is not None else 16.0
    left, right = label_w + 8, width - 80.0
    height = int(top + len(rows) * (group_h + gap) + 30)
    ticks = nice_ticks(max([*values, reference or 0.0]))

    def sx(v: float) -> float:
        return left + (right - left) * max(v, 0.0) / ticks[-1]

    out = [_open(chart_id, title, description, width, height, len(values))]
    hatch = f"{chart_id}-skipped"
    if any(r.skipped for r in rows):
        # Presentation attributes, not style: the page's CSP allows no style attributes.
        out.append(
            f'<defs><pattern id="{_attr(hatch)}" width="6" height="6" '
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="{SKIPPED_COLOUR}"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.5"/>'
            "</pattern></defs>"
        )
    out.append(_legend(series, left, 18)[0] if len(series) > 1 else "")
    bottom = height - 30.0
    for v in ticks:
        out.append(
            f'<line x1="{_num(sx(v))}" x2="{_num(sx(v))}" y1="{top - 6}" y2="{bottom}" '
            f'class="grid"/><text x="{_num(sx(v))}" y="{_num(bottom + 16)}" '
            f'text-anchor="middle" class="tick">{escape(fmt(v))}</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * (group_h + gap)
        label_cls = "label muted" if row.muted else "label"
        out.append(
            f'<text x="{_num(left - 8)}" y="{_num(y + group_h / 2 + 4)}" text-anchor="end" '
            f'class="{label_cls}">{escape(row.label)}</text>'
        )
        for j, (value, s) in enumerate(zip(row.values, series, strict=True)):
            if value is None:
                continue
            by = y + j * (bar_h + 3)
            # A zero still gets a sliver, so the bar is visibly there and says "0".
            w = max(sx(value) - left, 1.5)
            if row.skipped:
                fill, bar_cls = f"url(#{_attr(hatch)})", "bar skipped"
            else:
                fill, bar_cls = _attr(s.colour), "bar muted" if row.muted else "bar"
            out.append(
                f'<rect data-mark="" x="{_num(left)}" y="{_num(by)}" width="{_num(w)}" '
                f'height="{bar_h}" fill="{fill}" class="{bar_cls}">'
                f"<title>{escape(f'{row.label}, {s.label}: {fmt(value)}')}</title></rect>"
                f'<text x="{_num(left + w + 5)}" y="{_num(by + bar_h - 3)}" '
                f'class="value">{escape(fmt(value))}</text>'
            )
    out.append(f'<line x1="{left}" x2="{left}" y1="{top - 6}" y2="{bottom}" class="axis"/>')
    if reference is not None:
        x = _num(sx(reference))
        out.append(
            f'<line x1="{x}" x2="{x}" y1="{top - 10}" y2="{bottom}" class="reference"/>'
            f'<text x="{x}" y="{top - 14}" text-anchor="middle" class="reference-label">'
            f"{escape(reference_label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
