"""`rolesync fmt`: rewrite rule files, rule tests and connector profiles in one layout."""

from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from roleSync.cli.common import Subparsers
from roleSync.errors import Diagnostic, ExitCode, InputError, Severity

YAML_SUFFIXES = (".yaml", ".yml")


def register(sub: Subparsers) -> None:
    fmt = sub.add_parser(
        "fmt",
        help="lay out rule files and connector profiles canonically, keeping comments",
        description="Rewrite YAML files in the canonical layout: 2-space indents, keys in "
        "schema order, comments kept. Folders mean their *.yaml/*.yml files, recursively "
        "(hidden folders skipped). Files that would not change are not touched.",
    )
    fmt.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that would change and exit 1 if there are any",
    )
    fmt.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print a unified diff (file names then go to stderr)",
    )
    fmt.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    fmt.set_defaults(handler=run_fmt)


def yaml_files(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given; folders contribute their *.yaml/*.yml files, recursively."""
    found: dict[Path, Path] = {}  # resolved -> as shown, so a file named twice counts once
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                # Hidden folders hold state and tooling (.rolesync, .git), not rule files.
                hidden = any(p.startswith(".") for p in candidate.relative_to(path).parts)
                if candidate.suffix in YAML_SUFFIXES and candidate.is_file() and not hidden:
                    found.setdefault(candidate.resolve(), candidate)
        elif path.is_file():
            found.setdefault(path.resolve(), path)
        else:
            problems.append(
                Diagnostic(
                    str(path), 0, 0, Severity.ERROR, "no such file or folder", "file-missing"
                )
            )
    return list(found.values()), problems


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step: a reader sees the old text or the new, never half."""
    target = path.resolve()  # through a symlink: replace the file, keep the link
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(mode)  # mkstemp creates 0600; keep the file's own permissions
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def run_fmt(args: argparse.Namespace) -> ExitCode:
    from roleSync.rules.fmt import format_text

    # The loader's own reader: unreadable, oversized and non-UTF-8 files fail as in `check`.
    from roleSync.rules.loader import MAX_FILE_BYTES, _read_text

    files, problems = yaml_files(args.paths)
    for diagnostic in problems:
        print(diagnostic, file=sys.stderr)
    # With --diff, stdout carries only the diff, so that it can be piped to `patch`.
    status = sys.stderr if args.diff else sys.stdout
    changed = failed = 0
    for path in files:
        shown = str(path)
        try:
            text = _read_text(path, shown, MAX_FILE_BYTES)
            formatted = format_text(text, shown)
        except InputError as exc:
            for diagnostic in exc.diagnostics:
                print(diagnostic, file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # a formatter bug: say so, leave the file, do the others
            message = f"internal error: {type(exc).__name__}: {exc}; file left as it is"
            print(Diagnostic(shown, 0, 0, Severity.ERROR, message, "fmt-internal"), file=sys.stderr)
            failed += 1
            continue
        if formatted == text:
            continue
        changed += 1
        if args.diff:
            old, new = text.splitlines(keepends=True), formatted.splitlines(keepends=True)
            for line in difflib.unified_diff(old, new, f"a/{shown}", f"b/{shown}"):
                # As diff and git do, so that `patch` sees where a line ends.
                end = "" if line.endswith("\n") else "\n\\ No newline at end of file\n"
                sys.stdout.write(line + end)
        if args.check or args.diff:
            print(f"would reformat {shown}", file=status, flush=True)
            continue
        try:
            write_atomically(path, formatted)
        except OSError as exc:
            message = f"cannot write file: {exc.strerror or exc}"
            print(
                Diagnostic(shown, 0, 0, Severity.ERROR, message, "file-unwritable"), file=sys.stderr
            )
            failed += 1
            changed -= 1
            continue
        print(f"reformatted {shown}", file=status, flush=True)
    done = "would be reformatted" if args.check or args.diff else "reformatted"
    unchanged = len(files) - changed - failed
    summary = f"{changed} file(s) {done}, {unchanged} unchanged"
    print(summary + (f", {failed} with errors" if failed else ""), file=sys.stderr)
    if problems or failed or (args.check and changed):
        return ExitCode.INVALID
    return ExitCode.OK
