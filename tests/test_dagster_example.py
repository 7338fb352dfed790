"""deploy/dagster/rolesync_job.py runs in process (Dagster's execute_in_process) against
the demo book: a run that moves accounts succeeds with its counts as metadata; stuck
handoffs and a broken rule file fail the Dagster run with roleSync's one line.

Needs the `dagster` extra (`pip install -e '.[dev,dagster]'`, as .ci/run does). Without
it these tests skip with the reason on a laptop and fail in CI (`CI` set)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from api_book import AS_OF, demo_folder, profile_of

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "dagster" / "rolesync_job.py"


def _dagster_missing() -> bool:
    return importlib.util.find_spec("dagster") is None


if _dagster_missing():
    if os.environ.get("CI"):
        raise RuntimeError(
            "dagster is not installed and CI is set: install the extra, "
            "pip install -e '.[dev,dagster]' (.ci/run does)"
        )
    pytest.skip(
        "dagster is not installed: pip install -e '.[dev,dagster]' runs the Dagster example",
        allow_module_level=True,
    )


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rolesync_job", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture
def demo(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_folder(tmp_path, tmp_path_factory.getbasetemp())


def run_config(demo: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "profile": str(profile_of(demo)),
        "rules": [str(demo / "rules")],
        "as_of": AS_OF.isoformat(),
        **extra,
    }
    return {"ops": {"rolesync_sync": {"config": config}}}


def test_the_job_syncs_the_book(example: ModuleType, demo: Path) -> None:
    result = example.rolesync_job.execute_in_process(run_config=run_config(demo))
    assert result.success
    counts = result.output_for_node("rolesync_sync")
    assert counts["outcome"] == "ok" and counts["exit_code"] == 0
    assert counts["applied"] == counts["planned"] > 0
    assert Path(counts["report"]).is_file()
    assert counts["run_id"] in counts["report"]


def test_stuck_handoffs_fail_the_run(example: ModuleType, demo: Path) -> None:
    config = run_config(demo, fail_on=["handoff-pending"])
    result = example.rolesync_job.execute_in_process(run_config=config, raise_on_error=False)
    assert not result.success
    failure = _failure(result)
    assert "stuck handoffs: " in failure.description


def test_a_broken_rule_file_fails_the_run_with_its_line(example: ModuleType, demo: Path) -> None:
    (demo / "rules" / "roles.yaml").write_text("version: 1\nkind: roles\nwindow_days: many\n")
    result = example.rolesync_job.execute_in_process(
        run_config=run_config(demo), raise_on_error=False
    )
    assert not result.success
    failure = _failure(result)
    assert "roles.yaml:3:14: error:" in failure.description
    assert failure.metadata["exit_code"].value == 1


def test_the_definitions_load(example: ModuleType) -> None:
    assert example.defs.resolve_job_def("rolesync_job").name == "rolesync_job"


def _failure(result: Any) -> Any:
    """The dg.Failure the op raised, from the step's failure event."""
    events = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(events) == 1
    error = events[0].step_failure_data.user_failure_data
    assert error is not None, events[0].step_failure_data.error
    return error
