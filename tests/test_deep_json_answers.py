"""JSON nested without end where roleSync reads JSON it did not just write (issue 13):
CRM error bodies, the legacy rotation file. Each is the same answer as for any other
unreadable JSON, never a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.adapters.resilience.decisions import hubspot_error, salesforce_errors
from roleSync.errors import InputError
from roleSync.sync.state import ROTATION_FILE, load_rotation

DEEP = "[" * 100_000 + "]" * 100_000


def test_crm_error_bodies_nested_without_end_are_no_error_details() -> None:
    assert salesforce_errors(DEEP) == []
    assert salesforce_errors(DEEP.encode()) == []
    assert hubspot_error('{"message": ' + DEEP + "}") == {}


def test_a_rotation_file_nested_without_end_is_one_error(tmp_path: Path) -> None:
    (tmp_path / ROTATION_FILE).write_text('{"route": ' + DEEP + "}")
    with pytest.raises(InputError) as refused:
        load_rotation(tmp_path)
    (problem,) = refused.value.diagnostics
    assert problem.path == str(tmp_path / ROTATION_FILE)
    assert "recursion" in problem.message
