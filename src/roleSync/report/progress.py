"""Progress of the slow stages (pull, apply): bars on a terminal, plain lines elsewhere.

The runner reports to a `Progress` it is given; the command line picks one with
`progress_for`. The default, `NO_PROGRESS`, prints nothing, so library callers and
tests see no output. Progress goes to stderr: stdout may carry a plan as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from roleSync.terminal_text import printable

if TYPE_CHECKING:
    from rich.progress import Progress as RichBar
    from rich.progress import TaskID


class Stage(Protocol):
    """One running stage: advanced as work gets done, closed with a one-line summary."""

    def advance(self, amount: int = 1) -> None: ...

    def done(self, summary: str) -> None: ...


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> AbstractContextManager[Stage]:
        """A stage of `total` steps (None: unknown, shown as a spinner)."""
        ...


@runtime_checkable
class ReportsProgress(Protocol):
    """An adapter that can tell how far its apply got: called with the steps just done.

    Optional: adapters without it still work, their bar jumps to the end when done.
    """

    def set_progress(self, callback: Callable[[int], None] | None) -> None: ...


class _SilentStage:
    def advance(self, amount: int = 1) -> None:
        pass

    def done(self, summary: str) -> None:
        pass


class NoProgress:
    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        yield _SilentStage()


NO_PROGRESS: Progress = NoProgress()


class _LineStage:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def advance(self, amount: int = 1) -> None:
        pass  # a log wants the outcome, not a line per account

    def done(self, summary: str) -> None:
        print(printable(summary), file=self._stream, flush=True)


class LineProgress:
    """One plain line per finished stage (`pulled 13 owners, 2000 accounts, ...`): for
    logs, CI and pipes, where a redrawn bar would be noise."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        yield _LineStage(self._stream)


class _BarStage:
    def __init__(self, bar: RichBar, task: TaskID) -> None:
        self._bar = bar
        self._task = task
        self.summary: str | None = None

    def advance(self, amount: int = 1) -> None:
        self._bar.advance(self._task, amount)

    def done(self, summary: str) -> None:
        self.summary = summary


class RichProgress:
    """A rich progress bar (a spinner when the total is unknown) that gives way to the
    stage's summary line once the stage ends."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        # Imported here: rich costs ~50 ms to import and only terminals need it.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichBar

        console = Console(file=self._stream)
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        bar = RichBar(*columns, TimeElapsedColumn(), console=console, transient=True)
        with bar:
            stage = _BarStage(bar, bar.add_task(f"{name} ...", total=total or None))
            yield stage
        if stage.summary is not None:
            # markup off: summaries may hold CRM text with [brackets] rich would eat.
            console.print(printable(stage.summary), markup=False, highlight=False)


def progress_for(stream: IO[str]) -> Progress:
    """Bars when a person watches the stream, plain lines when it goes to a file or pipe."""
    return RichProgress(stream) if stream.isatty() else LineProgress(stream)


@contextmanager
def watching(adapter: object, stage: Stage) -> Iterator[None]:
    """Let an adapter that can report its steps advance `stage` while the block runs."""
    if not isinstance(adapter, ReportsProgress):
        yield
        return
    adapter.set_progress(stage.advance)
    try:
        yield
    finally:
        adapter.set_progress(None)
