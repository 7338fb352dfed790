"""The report page's tables: headers with tooltips, cells escaped once, optionally
sortable by the page's script (assets.SCRIPT). Pure: values in, HTML text out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

Cell = tuple[str, str | None]  # (shown text, sort key; None: sort by the text)


def table(
    caption: str,
    headers: Sequence[tuple[str, str, bool]],
    rows: Sequence[Sequence[Cell]],
    *,
    sortable: bool = False,
    table_id: str = "",
    row_classes: Sequence[str] = (),
) -> str:
    """headers: (label, tooltip, numeric). Cells are escaped here, once. row_classes, when
    given, has one class name per row ("" for none), e.g. to mute inactive owners."""
    head = []
    for label, tip, numeric in headers:
        cls = ' class="num"' if numeric else ""
        title = f' title="{escape(tip)}"' if tip else ""
        inner = f'<button type="button">{escape(label)}</button>' if sortable else escape(label)
        head.append(f'<th scope="col"{cls}{title}>{inner}</th>')
    body = []
    for i, row in enumerate(rows):
        cells = []
        for (text, key), (_, _, numeric) in zip(row, headers, strict=True):
            cls = ' class="num"' if numeric else ""
            sort = f' data-sort="{escape(key)}"' if key is not None else ""
            cells.append(f"<td{cls}{sort}>{escape(text)}</td>")
        row_cls = row_classes[i] if i < len(row_classes) else ""
        tr = f'<tr class="{escape(row_cls)}">' if row_cls else "<tr>"
        body.append(tr + "".join(cells) + "</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    attrs = (' data-sortable=""' if sortable else "") + (f' id="{table_id}"' if table_id else "")
    return (
        f'<div class="scroll"><table{attrs}><caption class="meta">{escape(caption)}</caption>'
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def plain(value: str) -> Cell:
    return (value, None)
