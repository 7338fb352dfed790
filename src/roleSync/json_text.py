"""Indented, key-sorted JSON text: byte for byte what `json.dumps` writes, in less time.

NaN and Infinity are refused (`allow_nan=False`): they are not JSON, and one in a plan
or report is a bug upstream (an amount out of range) to stop at, not a file to write.

`json.dumps(..., indent=2)` cannot use the C encoder (CPython uses it only without
indentation) and falls back to a generator per container, which made writing the plan
of a million-account book take seconds. This writer appends to one list instead and
uses the C string escaper: about 1.5x faster on plan-shaped data (283,000 changes: 1.6 s
against 2.4 s). Tests compare its output with `json.dumps` on random data.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

from roleSync.errors import RoleSyncError

_INFINITY = float("inf")


class NotFiniteError(RoleSyncError, ValueError):
    """A NaN or infinite number was about to be written as JSON."""

    def __init__(self, value: float) -> None:
        super().__init__(
            f"refusing to write {value!r} as JSON: a figure is not a finite number "
            "(an amount out of range? see `rolesync check -c PROFILE`)"
        )


def pretty_json(value: Any) -> str:
    """`json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)`,
    for JSON data (dict with str keys, list, str, int, float, bool, None); NotFiniteError
    where json.dumps raises ValueError for a NaN or an infinity."""
    parts: list[str] = []
    try:
        _write(value, parts, "\n")
    except (_NotPlainJsonError, TypeError):
        # Anything unusual (non-str keys, tuples, other types): the standard library's
        # answer, whatever it is, is by definition the right one.
        try:
            return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            if "not JSON compliant" in str(exc):
                raise NotFiniteError(float("nan")) from None
            raise
    return "".join(parts)


class _NotPlainJsonError(Exception):
    pass


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value == _INFINITY or value == -_INFINITY:
            raise NotFiniteError(value)
        return float.__repr__(value)
    raise _NotPlainJsonError


def _write(value: Any, out: list[str], newline: str) -> None:
    """Append `value` to `out`; `newline` is a line break plus the current indentation."""
    if type(value) is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise _NotPlainJsonError
            item = value[key]
            kind = type(item)
            if kind is str:  # most values: no call to _scalar
                out.append(separator + encode_basestring(key) + ": " + encode_basestring(item))
            elif kind is dict or kind is list:
                out.append(separator + encode_basestring(key) + ": ")
                _write(item, out, inner)
            else:
                out.append(separator + encode_basestring(key) + ": " + _scalar(item))
            separator = "," + inner
        out.append(newline + "}")
    elif type(value) is list:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            if type(item) is dict or type(item) is list:
                out.append(separator)
                _write(item, out, inner)
            else:
                out.append(separator + _scalar(item))
            separator = "," + inner
        out.append(newline + "]")
    else:
        out.append(_scalar(value))
