"""One scan for secrets on vcrpy tape, shared by every connector's cassette tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path


def secret_patterns(secret_keys: Sequence[str], *token_shapes: str) -> list[re.Pattern[str]]:
    """What must never be on tape: an Authorization header, a bearer token, a value
    under one of `secret_keys` that is not REDACTED, and each CRM's own token shapes."""
    keys = "|".join(re.escape(key) for key in secret_keys)
    return [
        re.compile(r"(?im)^\s*-?\s*authorization\s*:"),  # a header key in the YAML
        re.compile(r"(?i)\bbearer\s+[A-Za-z0-9!._-]{8,}"),
        re.compile(rf'(?i)"?({keys})"?\s*[:=]\s*"?(?!REDACTED)[A-Za-z0-9!._-]{{8,}}'),
        *(re.compile(shape) for shape in token_shapes),
    ]


def cassette_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def leaks(text: str, patterns: Sequence[re.Pattern[str]]) -> list[str]:
    """The patterns `text` matches: empty when the tape is clean."""
    return [p.pattern for p in patterns if p.search(text)]
