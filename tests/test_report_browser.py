"""The demo's HTML report in a real headless Chromium: no errors, every chart drawn.

Chromium loads a copy of the page with a probe script injected first in <head>. The
probe records script errors, console errors and CSP violations, and, once the page has
loaded, measures every chart (`svg[data-chart]`) and its marks (`[data-mark]`) with
the browser's own layout, writing the figures into DOM attributes. `--dump-dom` hands
the DOM back after `--virtual-time-budget` let the scripts run; `check_page` reads it.

Without Chromium the tests skip locally and fail under CI (the `CI` variable), where
`.ci/run` installs Debian's `chromium`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

import pytest

from roleSync.report.assets import CSS, SCRIPT, content_security_policy
from roleSync.report.html import CHART_IDS

AS_OF = "2026-06-30"
ROOT = Path(__file__).resolve().parents[1]

PROBE = """<script>
(function () {
  var root = document.documentElement;
  function note(kind, text) {
    root.setAttribute("data-probe-errors",
      (root.getAttribute("data-probe-errors") || "") + kind + ": " + text + "\\n");
  }
  window.addEventListener("error", function (e) {
    note("error", e.message || "a resource failed to load");
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("rejection", e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) {
    note("csp", e.violatedDirective + " " + e.blockedURI);
  });
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      note("console." + level, Array.prototype.join.call(arguments, " "));
      original.apply(console, arguments);
    };
  });
  window.addEventListener("load", function () {
    document.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      var box = svg.getBoundingClientRect();
      var marks = svg.querySelectorAll("[data-mark]");
      var shown = 0;
      marks.forEach(function (m) {
        var r = m.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) { shown += 1; }
      });
      svg.setAttribute("data-probe-size", Math.round(box.width) + "x" + Math.round(box.height));
      svg.setAttribute("data-probe-marks", String(marks.length));
      svg.setAttribute("data-probe-shown", String(shown));
      var figure = svg.closest("figure");
      var caption = figure && figure.querySelector("figcaption.chart-title");
      if (caption && caption.getBoundingClientRect().height > 0) {
        svg.setAttribute("data-probe-title", caption.textContent.trim());
      }
    });
    // A table is clipped when a box around it scrolls: rows hidden from a print.
    var clipped = [];
    document.querySelectorAll("table").forEach(function (table) {
      for (var box = table.parentElement; box; box = box.parentElement) {
        var style = getComputedStyle(box);
        var scrolls = style.overflowY !== "visible" || style.maxHeight !== "none";
        if (scrolls && box.scrollHeight > box.clientHeight + 1) {
          clipped.push(table.caption ? table.caption.textContent.trim() : table.id);
          break;
        }
      }
    });
    root.setAttribute("data-probe-clipped", clipped.join("|"));
    var table = document.getElementById("role-metrics");
    if (table) {
      var heads = table.tHead.rows[0].cells;
      for (var i = 0; i < heads.length; i += 1) {
        if (heads[i].textContent.trim() === "Managed revenue") {
          var button = heads[i].querySelector("button");
          button.click();
          button.click();
          var top = table.tBodies[0].rows[0].cells[0].textContent;
          root.setAttribute("data-probe-top-revenue", top);
        }
      }
    }
    root.setAttribute("data-probe-done", "yes");
  });
})();
</script>"""

_CONSOLE = re.compile(r':CONSOLE[:(]\d*\)?\]\s*"(?P<message>.*)", source: (?P<source>\S+)')


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: CI must run the browser test (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium); under CI this fails")


def browser_args(profile: Path) -> list[str]:
    return [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


def load(page: Path, work: Path) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and Chromium's log (stderr)."""
    probed = work / f"probed-{page.name}"
    probed.write_text(inject_probe(page.read_text(encoding="utf-8")), encoding="utf-8")
    result = subprocess.run(
        [
            *browser_args(work / "chromium-profile"),
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def inject_probe(page: str) -> str:
    head = page.index("<head>") + len("<head>")
    return page[:head] + PROBE + page[head:]


class _Dom(HTMLParser):
    """The attributes the probe wrote: on <html>, and on each chart."""

    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str] = {}
        self.charts: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.root = values
        elif tag == "svg" and "data-chart" in values:
            self.charts[values["data-chart"]] = values


def check_page(dom: str, log: str, expected: Sequence[str]) -> list[str]:
    """Every problem found: script or console errors, and charts missing or empty."""
    parsed = _Dom()
    parsed.feed(dom)
    problems = []
    if parsed.root.get("data-probe-done") != "yes":
        problems.append("the page never finished loading its scripts")
    problems += [e for e in parsed.root.get("data-probe-errors", "").splitlines() if e]
    problems += [f"console: {m['message']}" for m in _CONSOLE.finditer(log)]
    for chart_id in expected:
        chart = parsed.charts.get(chart_id)
        if chart is None:
            problems.append(f"chart {chart_id} is missing")
            continue
        declared = int(chart.get("data-mark-count", "0"))
        found = int(chart.get("data-probe-marks", "0"))
        shown = int(chart.get("data-probe-shown", "0"))
        width, _, height = chart.get("data-probe-size", "0x0").partition("x")
        if not (int(width) > 0 and int(height) > 0):
            problems.append(f"chart {chart_id} has no size on the page")
        if declared == 0 or shown == 0:
            problems.append(f"chart {chart_id} is empty ({shown} marks shown)")
        if found != declared:
            problems.append(f"chart {chart_id} drew {found} of its {declared} marks")
        if not chart.get("data-probe-title"):
            problems.append(f"chart {chart_id} has no visible title")
    return problems


def chart_titles(dom: str) -> dict[str, str]:
    parsed = _Dom()
    parsed.feed(dom)
    return {k: v.get("data-probe-title", "") for k, v in parsed.charts.items()}


def clipped_tables(dom: str) -> list[str]:
    parsed = _Dom()
    parsed.feed(dom)
    return [t for t in parsed.root.get("data-probe-clipped", "").split("|") if t]


def as_printed(page: str) -> str:
    """`page` with its print stylesheet applied on screen too, so the probe measures the
    printed layout (headless --dump-dom has no print-media switch). The stylesheet's hash
    in the CSP is updated to match, or the browser would refuse the changed stylesheet."""
    printed = CSS.replace("@media print", "@media all")
    assert printed != CSS and page.count(CSS) == 1
    policy = content_security_policy(CSS, SCRIPT)
    assert page.count(policy) == 1
    return page.replace(CSS, printed).replace(policy, content_security_policy(printed, SCRIPT))


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own report, as `rolesync demo` writes it and prints its path."""
    folder = tmp_path_factory.mktemp("browser") / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "roleSync", "demo", "--dir", str(folder), "--as-of", AS_OF],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"Run report \(HTML\): (.+\.html)", last)
    assert match, f"the demo should end with the report's path, not {last!r}"
    return Path(match.group(1))


def test_demo_report_loads_without_errors_and_draws_every_chart(
    demo_report: Path, tmp_path: Path
) -> None:
    dom, log = load(demo_report, tmp_path)
    assert check_page(dom, log, CHART_IDS) == []
    # The sortable table sorted in the browser: the biggest book first, descending.
    assert 'data-probe-top-revenue="Priya Nair"' in dom


def test_every_chart_shows_a_title_with_its_units(demo_report: Path, tmp_path: Path) -> None:
    titles = chart_titles(load(demo_report, tmp_path)[0])
    assert titles == {
        "role-map": "Role map: new business won against revenue managed, per owner "
        "(amounts in the CRM's currency)",
        "balance-accounts": "Accounts per farmer, before and after the run (accounts)",
        "balance-revenue": "Revenue managed per farmer, before and after the run "
        "(amounts in the CRM's currency)",
        "run-outcome": "What the run did with the accounts due for a handoff (accounts)",
    }


def test_checker_fails_when_a_chart_has_no_title(demo_report: Path, tmp_path: Path) -> None:
    page = demo_report.read_text(encoding="utf-8")
    untitled, removed = re.subn(
        r'<figcaption class="chart-title" id="run-outcome-caption">.*?'
        r"</figcaption>",
        "",
        page,
    )
    assert removed == 1
    (tmp_path / "untitled.html").write_text(untitled, encoding="utf-8")
    dom, log = load(tmp_path / "untitled.html", tmp_path)
    assert check_page(dom, log, CHART_IDS) == ["chart run-outcome has no visible title"]


def test_in_print_no_table_is_clipped(demo_report: Path, tmp_path: Path) -> None:
    """On screen the long tables scroll in their boxes; printed, every row shows."""
    page = demo_report.read_text(encoding="utf-8")
    on_screen = clipped_tables(load(demo_report, tmp_path)[0])
    assert any(t.startswith("Every planned handoff") for t in on_screen), on_screen
    (tmp_path / "printed.html").write_text(as_printed(page), encoding="utf-8")
    dom, log = load(tmp_path / "printed.html", tmp_path)
    assert check_page(dom, log, CHART_IDS) == []  # the changed stylesheet was allowed
    assert clipped_tables(dom) == []


def test_checker_fails_when_a_chart_is_missing(demo_report: Path, tmp_path: Path) -> None:
    page = demo_report.read_text(encoding="utf-8")
    broken, removed = re.subn(r'<svg [^>]*data-chart="balance-revenue".*?</svg>', "", page)
    assert removed == 1
    (tmp_path / "missing.html").write_text(broken, encoding="utf-8")
    dom, log = load(tmp_path / "missing.html", tmp_path)
    assert check_page(dom, log, CHART_IDS) == ["chart balance-revenue is missing"]


def test_checker_fails_when_a_chart_lost_its_marks(demo_report: Path, tmp_path: Path) -> None:
    page = demo_report.read_text(encoding="utf-8")
    start = page.index('data-chart="role-map"')
    end = page.index("</svg>", start)
    emptied = re.sub(r'<(circle|path) data-mark="".*?</\1>', "", page[start:end])
    (tmp_path / "empty.html").write_text(page[:start] + emptied + page[end:], encoding="utf-8")
    dom, log = load(tmp_path / "empty.html", tmp_path)
    problems = check_page(dom, log, CHART_IDS)
    assert "chart role-map is empty (0 marks shown)" in problems
    assert "chart role-map drew 0 of its 13 marks" in problems


def allow_script(page: str, script: str) -> str:
    """`page` with `script` added inline, and its hash added to the page's CSP."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    allowed = page.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    return allowed.replace("</body>", f"<script>{script}</script></body>")


def test_checker_fails_on_a_script_error(demo_report: Path, tmp_path: Path) -> None:
    page = demo_report.read_text(encoding="utf-8")
    broken = allow_script(page, "notAFunction();")
    (tmp_path / "error.html").write_text(broken, encoding="utf-8")
    dom, log = load(tmp_path / "error.html", tmp_path)
    problems = check_page(dom, log, CHART_IDS)
    assert any("notAFunction is not defined" in p for p in problems), problems


def test_the_page_fetches_nothing(demo_report: Path, tmp_path: Path) -> None:
    """The CSP forbids every fetch: an image slipped in is blocked, and reported."""
    page = demo_report.read_text(encoding="utf-8")
    broken = page.replace("</body>", '<img src="https://example.com/x.png" alt=""></body>')
    (tmp_path / "fetch.html").write_text(broken, encoding="utf-8")
    dom, log = load(tmp_path / "fetch.html", tmp_path)
    assert any("img-src" in p for p in check_page(dom, log, CHART_IDS))


def test_an_inline_script_the_page_did_not_hash_does_not_run(
    demo_report: Path, tmp_path: Path
) -> None:
    """What one escaping slip would let in: blocked by the CSP, and reported."""
    page = demo_report.read_text(encoding="utf-8")
    mark = "document.documentElement.setAttribute('data-slipped', 'ran')"
    slipped = f'<script>{mark}</script><img src="data:," alt="" onerror="{mark}">'
    broken = page.replace("</body>", f"{slipped}</body>")
    (tmp_path / "slip.html").write_text(broken, encoding="utf-8")
    dom, log = load(tmp_path / "slip.html", tmp_path)
    assert 'data-slipped="ran"' not in dom  # neither the element nor the handler ran
    problems = check_page(dom, log, CHART_IDS)
    assert any(p.startswith("csp: script-src") for p in problems), problems


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshot_of_the_report(demo_report: Path, tmp_path: Path) -> None:
    """How docs/report.png (the README's picture) is made: with ROLESYNC_SCREENSHOT=1 this
    test writes it there; otherwise into a temporary folder, and checks the one shipped."""
    docs = ROOT / "docs" / "report.png"
    shot = docs if os.environ.get("ROLESYNC_SCREENSHOT") == "1" else tmp_path / "report.png"
    subprocess.run(
        [
            *browser_args(tmp_path / "chromium-profile"),
            f"--screenshot={shot}",
            "--window-size=1280,2200",
            demo_report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert png_size(shot) == (1280, 2200)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB
    assert png_size(docs) == (1280, 2200)
