"""Where the shipped rule files are: inside the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_rules_dir() -> Path:
    # A wheel carries the top-level rules/ as roleSync/_shipped/rules (pyproject's
    # force-include); an editable install runs from the checkout, where rules/ sits
    # two levels above the package.
    for candidate in (_PACKAGE / "_shipped" / "rules", _PACKAGE.parents[1] / "rules"):
        if (candidate / "roles.yaml").is_file():
            return candidate
    raise FileNotFoundError("the shipped rule files are missing from this installation")
