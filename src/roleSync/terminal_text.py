"""Text bound for a terminal (or a log a terminal will show): data with its control
characters escaped.

Owner names, account names and deal stages come from CSV files and CRMs, so they are
untrusted: `ESC ]0;...BEL` retitles the user's terminal, `ESC [2J` clears it, a bare CR
overwrites the line before it, U+202E turns the rest of a line around, and a C1 control
(U+009B is a one-byte CSI to some terminals) can do what ESC does. Such characters are
shown the way Python's repr shows them (`\\x1b`, `\\x07`, `\\u202e`); everything else,
"José Müller" and CJK included, is left intact. JSON output keeps the data as is: its
encoder escapes what JSON requires, and a reader of JSON wants the real value.
"""

from __future__ import annotations

import re
from functools import cache

# C0 controls, DEL and C1 controls; the line and paragraph separators (they start a new
# line in some terminals); the bidirectional overrides, embeddings and isolates ("Trojan
# Source"); lone surrogates, which the error handler of an UTF-8 stream would refuse.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"


@cache
def _unsafe_except(keep: str) -> re.Pattern[str]:
    kept = "".join(f"\\x{ord(c):02x}" for c in keep)
    return re.compile(f"(?![{kept}])[{_UNSAFE}]" if kept else f"[{_UNSAFE}]")


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """`text` with every character that could steer a terminal escaped, except those in
    `keep` (say "\\n" for a block of lines whose layout uses newlines). A value shown in
    one line or one table cell keeps nothing, so it cannot forge a line of its own."""
    return _unsafe_except(keep).sub(_escaped, text)


def printable_block(text: str) -> str:
    """A block of lines made by roleSync (a table, an explanation): its newlines and tabs
    are layout; any other control character in it came from data."""
    return printable(text, keep="\n\t")
