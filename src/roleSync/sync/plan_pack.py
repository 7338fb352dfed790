"""The plan document as the state store keeps it with its run (`run_plans.plan`).

A large plan is stored deflated: the 1M book's first sync plans 366 MB of JSON, which
took seconds to write into the store (and to a PostgreSQL server, over the network)
on every run; deflated at zlib's fastest level it is 39 MB, in about a second (issue
19). It stays text, base64 after a marker, so the column is the same on SQLite and
PostgreSQL and `rolesync state copy` carries it unchanged. Plans below `PACK_FROM`
are stored as they are, readable with any SQL client, as are those stored before.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from roleSync.errors import Diagnostic, InputError, Severity

# A plan document is a JSON object, so it never starts with this marker.
MARKER = "zlib+base64:"
PACK_FROM = 1 << 20  # characters
LEVEL = 1  # zlib's fastest: 366 MB to 39 MB in about a second; 6 saves 25% more in twice it


def packed_plan(text: str) -> str:
    """`text` (a plan document) as the store keeps it."""
    if len(text) < PACK_FROM:
        return text
    deflated = zlib.compress(text.encode("utf-8"), LEVEL)
    return MARKER + base64.b64encode(deflated).decode("ascii")


def unpacked_plan(stored: str, where: str) -> str:
    """The plan document the store kept as `stored`; InputError naming `where` if the
    stored copy is damaged (cut, or not what `packed_plan` wrote)."""
    if not stored.startswith(MARKER):
        return stored
    try:
        deflated = base64.b64decode(stored[len(MARKER) :], validate=True)
        return zlib.decompress(deflated).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        message = f"the plan stored with this run is damaged and cannot be read ({exc})"
        raise InputError(
            [Diagnostic(where, 0, 0, Severity.ERROR, message, "stored-plan-damaged")]
        ) from None
