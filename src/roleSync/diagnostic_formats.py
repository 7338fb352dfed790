"""`rolesync check` output for people and for CI: text, JSON, GitHub, JUnit XML and SARIF.

Every renderer here is pure: diagnostics, the number of files checked and `strict` in,
one string out. Environment variables, the working directory and files are the CLI's
business (cli/check_cmd.py), which passes what it found in as arguments.

`strict` changes the verdict (the exit code), never the facts: each diagnostic keeps its
own severity in every format. The one exception is JUnit, whose only verdict is a
per-test <failure>, so under `strict` a warning has to become one to fail the build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from roleSync import __version__
from roleSync.errors import Diagnostic, ExitCode, Severity, position_suffix
from roleSync.terminal_text import printable

FORMATS = ("text", "json", "github", "junit", "sarif")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "rolesync"
JUNIT_SUITE = "rolesync check"


# -- verdict -------------------------------------------------------------------------------


def counts(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for d in diagnostics:
        if d.severity is Severity.ERROR:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def exit_code_for(diagnostics: Sequence[Diagnostic], strict: bool) -> ExitCode:
    """0 clean, 1 any error (or any warning when strict), 3 warnings only."""
    errors, warnings = counts(diagnostics)
    if errors or (strict and warnings):
        return ExitCode.INVALID
    if warnings:
        return ExitCode.GUARDRAIL
    return ExitCode.OK


def _fails(diagnostic: Diagnostic, strict: bool) -> bool:
    return diagnostic.severity is Severity.ERROR or strict


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(diagnostics: Sequence[Diagnostic], files_checked: int, strict: bool) -> str:
    """`checked 4 files: 0 errors, 1 warning`, saying so when --strict makes warnings fail."""
    errors, warnings = counts(diagnostics)
    line = (
        f"checked {_plural(files_checked, 'file')}: "
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    )
    if strict and warnings:
        line += " (--strict: warnings count as errors)"
    return line


# -- paths ---------------------------------------------------------------------------------


def _relative(path: str, root: str | None) -> PurePath:
    """`path` relative to `root` when it lies under it; as given otherwise.

    GitHub attaches annotations and code-scanning alerts only to repository-relative
    paths, while users may well pass absolute ones. Pure path arithmetic, no filesystem.
    """
    pure = PurePath(path)
    if root is not None and pure.is_absolute():
        try:
            return pure.relative_to(root)
        except ValueError:
            return pure
    return pure


def _artifact_uri(path: str, root: str | None) -> str:
    pure = _relative(path, root)
    if pure.is_absolute():
        return pure.as_uri()  # outside the repository: at least an unambiguous file: URI
    # A URI reference, not a path: spaces and the like are percent-encoded, `/` is kept.
    return quote(pure.as_posix(), safe="/")


# -- text and JSON -------------------------------------------------------------------------


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    """One `path:line:col: severity: message [code]` line per diagnostic (for stderr)."""
    return "".join(f"{d}\n" for d in diagnostics)


def render_json(
    diagnostics: Sequence[Diagnostic], files_checked: int, *, strict: bool = False
) -> str:
    import json  # here: the text format, the common one, needs neither

    errors, warnings = counts(diagnostics)
    document = {
        "files_checked": files_checked,
        "errors": errors,
        "warnings": warnings,
        "diagnostics": [
            {
                "path": d.path,
                "line": d.line,
                "col": d.col,
                "severity": str(d.severity),
                "message": d.message,
                "code": d.code,
            }
            for d in diagnostics
        ],
    }
    return json.dumps(document, indent=2) + "\n"


# -- GitHub Actions ------------------------------------------------------------------------


def escape_command_data(text: str) -> str:
    """Workflow-command data (after `::`). Escaping `%` first keeps the others unambiguous;
    escaping newlines stops a message from starting a command of its own on the next line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(text: str) -> str:
    """A workflow-command property value: `,` separates properties and `:` ends them."""
    return escape_command_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(d: Diagnostic, root: str | None) -> str:
    properties = [("file", _relative(d.path, root).as_posix())]
    # 0 means "the whole file" / "unknown": leave it out rather than point at line 0.
    if d.line > 0:
        properties.append(("line", str(d.line)))
        if d.col > 0:
            properties.append(("col", str(d.col)))
    properties.append(("title", d.code))
    props = ",".join(f"{key}={escape_command_property(value)}" for key, value in properties)
    # The log viewer renders ANSI codes: only the newlines (escaped as %0A) stay raw.
    message = printable(d.message, keep="\r\n")
    return f"::{d.severity} {props}::{escape_command_data(message)}"


def render_github(
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    strict: bool = False,
    root: str | None = None,
) -> str:
    """One `::error ...::message` / `::warning ...::message` workflow command per diagnostic."""
    return "".join(_annotation(d, root) + "\n" for d in diagnostics)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _cell(text: str) -> str:
    # `|` would end the cell; the others could turn a message into markup or HTML.
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def render_step_summary(
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    strict: bool = False,
    root: str | None = None,
) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the full list, since GitHub shows only the first
    few annotations of a step."""
    lines = ["### rolesync check", "", _cell(summary_line(diagnostics, files_checked, strict))]
    if diagnostics:
        lines += ["", "| Location | Severity | Code | Message |", "| --- | --- | --- | --- |"]
        for d in diagnostics:
            location = _relative(d.path, root).as_posix() + position_suffix(d.line, d.col)
            cells = (location, str(d.severity), d.code, d.message)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    # Leading and trailing blank lines: other steps append to the same file.
    return "\n" + "\n".join(lines) + "\n\n"


# -- JUnit XML -----------------------------------------------------------------------------

# XML 1.0 cannot carry these at all, not even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def render_junit(
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    strict: bool = False,
    files: Sequence[str] = (),
) -> str:
    """One <testcase> per file: a <failure> per error (and per warning when strict); other
    warnings go to the test's <system-out>.

    `files` names the files checked so clean ones get a (passing) test too; a diagnostic
    about a path not among them still gets its own test.
    """
    import xml.etree.ElementTree as ET  # here: the text format, the common one, needs neither

    by_path: dict[str, list[Diagnostic]] = {path: [] for path in files}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)

    suite = ET.Element("testsuite", name=JUNIT_SUITE)
    failed = 0
    for path, found in by_path.items():
        case = ET.SubElement(suite, "testcase", classname=_xml_text(path), name=_xml_text(path))
        failures = [d for d in found if _fails(d, strict)]
        for d in failures:
            failure = ET.SubElement(
                case, "failure", message=_xml_text(d.message), type=_xml_text(d.code)
            )
            failure.text = _xml_text(str(d))
        notes = [d for d in found if not _fails(d, strict)]
        if notes:
            ET.SubElement(case, "system-out").text = _xml_text("".join(f"{d}\n" for d in notes))
        failed += bool(failures)
    # `failures` counts failed tests, not <failure> elements: readers compute
    # passed = tests - failures - errors - skipped, which must not go negative.
    totals = {"tests": str(len(by_path)), "failures": str(failed), "errors": "0", "skipped": "0"}
    suite.attrib.update(totals)
    root = ET.Element("testsuites", {"name": TOOL_NAME, **totals})
    root.append(suite)
    ET.indent(root)
    # us-ascii: anything else becomes a character reference, so the document stays valid
    # whatever encoding the terminal or the CI log happens to use.
    document: bytes = ET.tostring(root, encoding="us-ascii", xml_declaration=True)
    return document.decode("ascii") + "\n"


# -- SARIF 2.1.0 ---------------------------------------------------------------------------


def _sarif_result(d: Diagnostic, root: str | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(d.path, root)}}
    # SARIF lines and columns start at 1, so 0 ("whole file", "unknown") has no region.
    if d.line > 0:
        region: dict[str, int] = {"startLine": d.line}
        if d.col > 0:
            region["startColumn"] = d.col
        physical["region"] = region
    return {
        "ruleId": d.code,
        "level": "error" if d.severity is Severity.ERROR else "warning",
        "message": {"text": d.message},
        "locations": [{"physicalLocation": physical}],
    }


def render_sarif(
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    strict: bool = False,
    root: str | None = None,
    information_uri: str | None = None,
) -> str:
    """A SARIF 2.1.0 log with one run, for GitHub code scanning and other SARIF viewers."""
    import json  # here: the text format, the common one, needs neither

    driver: dict[str, Any] = {"name": TOOL_NAME, "version": __version__}
    if information_uri:
        driver["informationUri"] = information_uri
    driver["rules"] = [{"id": code} for code in sorted({d.code for d in diagnostics})]
    run = {
        "tool": {"driver": driver},
        # Columns come from the YAML parser, which counts characters; SARIF's default
        # would be UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(d, root) for d in diagnostics],
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


# -- dispatch ------------------------------------------------------------------------------


def render(
    fmt: str,
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    strict: bool = False,
    root: str | None = None,
    files: Sequence[str] = (),
    information_uri: str | None = None,
) -> str:
    """The stdout document of a machine format (`text` has none: see render_text)."""
    match fmt:
        case "json":
            return render_json(diagnostics, files_checked, strict=strict)
        case "github":
            return render_github(diagnostics, files_checked, strict=strict, root=root)
        case "junit":
            return render_junit(diagnostics, files_checked, strict=strict, files=files)
        case "sarif":
            return render_sarif(
                diagnostics,
                files_checked,
                strict=strict,
                root=root,
                information_uri=information_uri,
            )
    raise ValueError(f"no machine format {fmt!r} (one of {', '.join(FORMATS[1:])})")
