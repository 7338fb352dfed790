"""Progress of pull and apply: bars on a terminal, plain lines elsewhere, nothing by default."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.profile import load_profile
from roleSync.report.progress import (
    LineProgress,
    NoProgress,
    RichProgress,
    Stage,
    progress_for,
    watching,
)
from roleSync.sync.runner import PlanRequest, sync

AS_OF = date(2026, 6, 30)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Recorded:
    """A Progress that remembers every call, to check what the runner reports."""

    stages: list[tuple[str, int | None]] = field(default_factory=list)
    advanced: dict[str, int] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        self.stages.append((name, total))
        self.advanced[name] = 0
        outer = self

        class _Stage:
            def advance(self, amount: int = 1) -> None:
                outer.advanced[name] += amount

            def done(self, summary: str) -> None:
                outer.summaries.append(summary)

        yield _Stage()


def test_plain_lines_say_what_each_stage_did() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream)
    with progress.stage("apply", 3) as stage:
        stage.advance(3)
        stage.done("applied 3 of 3 ownership changes")
    assert stream.getvalue() == "applied 3 of 3 ownership changes\n"


def test_no_progress_is_silent() -> None:
    with NoProgress().stage("pull") as stage:
        stage.advance()
        stage.done("pulled")


def test_terminal_gets_a_bar_and_keeps_the_summary() -> None:
    assert isinstance(progress_for(io.StringIO()), LineProgress)
    terminal = _Terminal()
    progress = progress_for(terminal)
    assert isinstance(progress, RichProgress)
    with progress.stage("apply", 2) as stage:
        stage.advance(2)
        stage.done("applied [2] of 2")  # brackets are CRM-ish text, not rich markup
    assert "applied [2] of 2" in terminal.getvalue()


def test_watching_hooks_adapters_that_can_report() -> None:
    calls: list[Callable[[int], None] | None] = []

    class Reporting:
        def set_progress(self, callback: Callable[[int], None] | None) -> None:
            calls.append(callback)

    recorded = Recorded()
    with recorded.stage("apply", 1) as stage, watching(Reporting(), stage):
        assert calls[0] is not None
        calls[0](1)
    assert calls[-1] is None and recorded.advanced["apply"] == 1
    with watching(object(), stage):  # adapters without the hook are left alone
        pass


def test_the_runner_reports_pull_and_every_apply_step(tmp_path: Path) -> None:
    profile_path, rules = prepare(tmp_path / "demo", AS_OF, 2026)
    recorded = Recorded()
    plan, report = sync(PlanRequest(load_profile(profile_path), [rules], AS_OF), progress=recorded)
    total = len(plan.changes) + len(plan.metric_writes)
    # The shipped handoff carries open deals and creates tasks: a stage of their own.
    carried = len(plan.related_changes) + len(plan.task_creates)
    assert carried > 0
    assert recorded.stages == [("pull", None), ("apply", total), ("carry", carried)]
    assert recorded.advanced["apply"] == total
    assert recorded.advanced["carry"] == carried  # each entry once
    pulled, applied, carry = recorded.summaries
    assert carry == (
        f"{len(plan.related_changes)} carried records and {len(plan.task_creates)} handoff "
        "tasks written or decided"
    )
    assert re.fullmatch(r"pulled 13 owners, 2005 accounts, \d+ deals", pulled)
    assert applied == (
        f"applied {len(report.applied)} of {len(plan.changes)} ownership changes, "
        f"{report.metrics_written} metric writes"
    )


def test_sync_command_prints_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    profile_path, rules = prepare(tmp_path / "demo", AS_OF, 2026)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["sync", "-c", str(profile_path), "-r", str(rules), "--as-of", str(AS_OF)])
    assert code == 0, err.getvalue()
    # Book health warnings of the demo book (its won deals without amount) come first.
    lines = [x for x in err.getvalue().splitlines() if ": warning: " not in x]
    assert lines[0].startswith("pulled 13 owners, 2005 accounts, ")
    assert lines[1].startswith("applied ") and lines[1].endswith(" metric writes")
    assert "pulled" not in out.getvalue()  # stdout stays for results
