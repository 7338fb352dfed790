"""Argument types and options shared by several commands."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from roleSync.errors import UsageError
from roleSync.terminal_text import printable_block

DEFAULT_RULES = Path("rules")
Subparsers = Any  # argparse's _SubParsersAction is private; its type is not worth importing


class CommandUsageError(UsageError):
    """A usage mistake argparse cannot see (for example: none of several options given)."""


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


_BYTE_UNITS = {
    **{"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2},
    **{"g": 1000**3, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3},
}


def byte_size(text: str) -> int:
    """A size in bytes: 1048576, 512MiB, 2GiB, 300MB (case does not matter)."""
    number = text.strip().rstrip("bBiIkKmMgG ")
    unit = text.strip()[len(number) :].strip().lower()
    if number.isdigit() and unit in _BYTE_UNITS and int(number) > 0:
        return int(number) * _BYTE_UNITS[unit]
    raise argparse.ArgumentTypeError(f"not a size (like 512MiB or 2GiB): {text!r}")


def today() -> date:
    from roleSync.sync.runner import utc_now

    return utc_now().date()


def add_profile_option(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "-c",
        "--connector",
        type=Path,
        required=required,
        metavar="PROFILE",
        help="connector profile (YAML)",
    )


def add_rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-r",
        "--rules",
        type=Path,
        action="append",
        metavar="PATH",
        help="rule file or folder (repeatable; default: ./rules)",
    )
    parser.add_argument("--as-of", type=iso_date, help="the day to plan for (default: today, UTC)")


def rule_paths(args: argparse.Namespace) -> list[Path]:
    return list(args.rules or [DEFAULT_RULES])


def out(text: str = "") -> None:
    """Text for a person on stdout: tables, explanations and summaries quote data, whose
    control characters are shown escaped (a terminal would obey them)."""
    print(printable_block(text), flush=True)


def out_document(text: str) -> None:
    """A JSON document on stdout: its data as is (JSON's encoder escapes what it must)."""
    print(text, flush=True)
