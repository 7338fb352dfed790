"""The depth check every emulator runs on a JSON body before json.loads recurses."""

from __future__ import annotations

import pytest

from roleSync.emulators.http import MAX_JSON_DEPTH, BodyTooDeepError, json_depth, load_json


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b"42", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": [2]}]}', 4),
        (b"[[],[],[[]]]", 3),
        (b'["[[[", "{{{"]', 1),  # brackets inside strings are text
        (b'["\\"[[", "["]', 1),  # an escaped quote does not end the string
        (b'["\\\\", "["]', 1),  # an escaped backslash does not escape the quote
        (b'["open [[[', 1),  # an unterminated string runs to the end
        (b"]]]][", 0),  # json.loads stops at the first stray closer
    ],
)
def test_depth(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_at_the_limit_is_parsed_one_more_is_refused() -> None:
    deepest = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json(deepest) is not None
    with pytest.raises(BodyTooDeepError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
        load_json(b"[" + deepest + b"]")


def test_too_deep_is_refused_even_when_malformed() -> None:
    with pytest.raises(BodyTooDeepError):
        load_json(b'{"a":' * 100_000)


def test_malformed_bodies_are_value_errors() -> None:
    for body in (b"{", b"\xff\xfe", b'{"a": 1,}', b"[" * 10):
        with pytest.raises(ValueError):
            load_json(body)
