"""The report page's inline stylesheet, script and Content-Security-Policy: static text
(the policy derived from it), kept apart from the rendering code so each reads on its own."""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root { color-scheme: light; --text: #1f2328; --muted: #57606a; --line: #d8dee4; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--text); margin: 0; background: #f6f8fa; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 6px; }
p.lead, .meta { color: var(--muted); margin: 0 0 12px; }
nav a { margin-right: 14px; color: #0550ae; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; padding: 0; }
.cards li { list-style: none; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 120px; }
.cards b { display: block; font-size: 22px; }
figure { margin: 8px 0 0; } figcaption { color: var(--muted); margin-top: 4px; }
figcaption.chart-title { color: var(--text); font-weight: 600; margin: 0 0 4px; }
svg.chart { width: 100%; height: auto; max-width: 960px; display: block;
  font-family: inherit; }
svg .grid { stroke: #d8dee4; stroke-width: 1; } svg .axis { stroke: #57606a; }
svg .tick, svg .value { font-size: 11px; fill: #57606a; }
svg .axis-label { font-size: 12px; fill: #1f2328; }
svg .legend, svg .label { font-size: 12px; fill: #1f2328; }
svg .label { paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .note { font-size: 11px; fill: #57606a; font-style: italic; }
svg .flagged-label { font-weight: 700; } svg .flagged-label .note { fill: #8c2f00; }
svg .dot { stroke: #fff; stroke-width: 1.5; }
svg .flagged { stroke: #111; stroke-width: 2; }
svg .halo { fill: none; stroke: #111; stroke-width: 1.2; stroke-dasharray: 3 2; }
svg .flag { fill: #fff; stroke: #111; stroke-width: 2; }
svg .leader { stroke: #8c959f; stroke-width: 1; }
svg .reference { stroke: #1f2328; stroke-dasharray: 4 3; }
svg .reference-label { font-size: 11px; fill: #1f2328; }
svg .skipped { stroke: #7a3d63; stroke-width: 1; }
svg .label.muted { fill: #8c959f; font-style: italic; }
svg .bar.muted, svg .dot.muted { opacity: .45; }
tr.inactive td { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td:first-child { white-space: nowrap; }
caption { text-align: left; padding: 4px 8px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th button { all: inherit; cursor: pointer; padding: 0; }
th button:focus-visible { outline: 2px solid #0550ae; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); }
.bad { color: #a40e26; font-weight: 600; }
.tag { display: inline-block; border-radius: 10px; padding: 0 8px; color: #fff;
  font-size: 12px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
/* On paper nothing scrolls: every table prints in full, headers repeat on each page. */
@media print {
  body { background: #fff; } main { max-width: none; padding: 0; } nav { display: none; }
  .scroll { max-height: none; overflow: visible; border: 0; }
  th { position: static; } thead { display: table-header-group; }
  tr, figure { break-inside: avoid; } h2 { break-after: avoid; }
  .charts { grid-template-columns: 1fr; }
  th[aria-sort] button::after { content: none; }
}
"""

# Sorts any table marked data-sortable by the clicked column: numbers by their
# data-sort value (empty last), text by locale. Keyboard users reach the header buttons.
SCRIPT = """
document.querySelectorAll("table[data-sortable]").forEach(function (table) {
  table.querySelectorAll("th button").forEach(function (button) {
    button.addEventListener("click", function () {
      var th = button.closest("th");
      var column = th.cellIndex;
      var numeric = th.classList.contains("num");
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[column];
        var raw = cell.hasAttribute("data-sort")
          ? cell.getAttribute("data-sort") : cell.textContent;
        if (!numeric) { return raw.trim().toLowerCase(); }
        return raw === "" ? null : parseFloat(raw);
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) { return 0; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        var order = numeric ? x - y : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(style: str, script: str) -> str:
    """The page's policy: nothing fetched, and of inline code only the stylesheet and the
    script the page was rendered with, by hash. No 'unsafe-inline': should CRM text ever
    slip past escaping as a <script> or an onclick, the browser refuses to run it. The
    page has no style attributes (classes and SVG presentation attributes only), so
    hashing the one <style> element covers every style it uses."""
    return (
        f"default-src 'none'; style-src {_sha256_source(style)}; "
        f"script-src {_sha256_source(script)}; img-src data:; base-uri 'none'; "
        "form-action 'none'"
    )
