"""The plan's compare-and-set metric write: what counts as changed since the plan."""

from __future__ import annotations

import pytest

from roleSync.model import FieldValue
from roleSync.plan import MetricWrite, same_value

WRITE = MetricWrite("o1", {"role": "farmer", "won": 4, "rate": None}, {"role": "hunter", "won": 3})


@pytest.mark.parametrize(
    ("found", "planned", "same"),
    [
        (3.0, 3, True),
        (3, 3.5, False),
        ("", None, True),
        (None, "", True),
        ("3", 3, False),  # text is not a number: adapters type what they read
        (True, 1, False),
        ("farmer", "farmer", True),
    ],
)
def test_same_value(found: FieldValue, planned: FieldValue, same: bool) -> None:
    assert same_value(found, planned) is same


def test_values_as_planned_from_are_written() -> None:
    now: dict[str, FieldValue] = {"role": "hunter", "won": 3.0}
    assert WRITE.conflict_with(now) is None
    assert WRITE.pending(now) == {"role": "farmer", "won": 4}


def test_values_already_written_are_no_conflict_and_nothing_to_send() -> None:
    now: dict[str, FieldValue] = {"role": "farmer", "won": 4, "rate": ""}
    assert WRITE.conflict_with(now) is None
    assert WRITE.pending(now) == {}


def test_a_newer_value_is_a_conflict_naming_the_field() -> None:
    why = WRITE.conflict_with({"role": "hunter", "won": 9})
    assert why == "changed since the plan was made: won=9 (planned from 3)"
    # A field the plan saw blank that holds a value now is newer too.
    assert WRITE.conflict_with({"role": "hunter", "won": 3, "rate": 0.5}) is not None
