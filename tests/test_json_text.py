"""pretty_json writes exactly what json.dumps(indent=2, sort_keys=True, ensure_ascii=False)
writes: plans must stay byte-identical whichever writes them."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from roleSync.json_text import NotFiniteError, pretty_json

TEXTS = ["", "a", "Zürich", 'quote " and \\ slash', "tab\tnew\nline", "\x00\x1f", "😀", "\u2028"]
NUMBERS: list[Any] = [0, -1, 2**70, 1.5, -0.0, 1e-7, 1e22, 0.1 + 0.2, float("inf"), float("nan")]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {
            rng.choice(TEXTS) + str(rng.randrange(9)): random_json(rng, depth + 1)
            for _ in range(rng.randrange(5))
        }
    if depth < 4 and roll < 0.45:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    return rng.choice([*TEXTS, *NUMBERS, None, True, False])


def stdlib(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)


def written(write: Any, value: Any) -> str:
    """What a writer gives, or "refused" where it refuses a NaN or an infinity."""
    try:
        return str(write(value))
    except ValueError as exc:
        assert "JSON" in str(exc)
        return "refused"


@pytest.mark.parametrize("seed", range(300))
def test_random_documents_are_written_as_the_standard_library_writes_them(seed: int) -> None:
    value = random_json(random.Random(seed))
    assert written(pretty_json, value) == written(stdlib, value)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf"), 1e308 * 10])
@pytest.mark.parametrize("shape", ["plain", "tuple"])
def test_a_number_that_is_not_finite_is_a_clear_error_not_a_nan_in_a_file(
    number: float, shape: str
) -> None:
    value: Any = {"metrics": [{"won_amount": number}]}
    if shape == "tuple":
        value = {"metrics": (number,)}  # the standard library's path
    with pytest.raises(NotFiniteError, match="not a finite number"):
        pretty_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {2: "int keys", 1: "json.dumps converts"},
        {"t": (1, 2)},  # a tuple is a JSON array to json.dumps
        [{"a": {}}, [], {}],
        {"z": None, "a": [True, False, None]},
    ],
)
def test_unusual_documents_match_too(value: Any) -> None:
    assert pretty_json(value) == stdlib(value)


def test_what_json_cannot_write_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError):
        pretty_json({"a": object()})
    with pytest.raises(TypeError):
        pretty_json({1: "x", "a": "y"})  # json.dumps cannot sort mixed keys either
