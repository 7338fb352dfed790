"""`rolesync runs abandon RUN_ID --reason TEXT`: give up a run that cannot be finished.

A run whose apply crashed or was interrupted stays unfinished, and every later sync,
apply and rollback of the profile first tries to finish it (sync.recovery). When that
keeps failing (the same crash again, a target that will never accept the write), the
profile is stuck until someone fixes the cause or gives the run up. Abandoning:

- marks the run `abandoned` with the reason (and the error it was stuck on), its
  counts those of its audit log, like any finished run's;
- keeps its journal and audit log as they are: what it wrote stays recorded (and is
  what `rollback` can undo); writes that were in flight stay in the journal, unaudited;
- writes nothing to the CRM and reads nothing from it.

The next sync plans afresh from the CRM as it is, so whatever the abandoned run did not
write is planned again if the rules still want it. Takes the profile's lock, so a run
being finished right now cannot be abandoned under it.
"""

from __future__ import annotations

from roleSync.errors import RoleSyncError, UsageError
from roleSync.profile import Profile
from roleSync.sync.logs import event
from roleSync.sync.recorder import Clock
from roleSync.sync.state_open import locked_state
from roleSync.sync.store import UNFINISHED, RunRow, RunStatus


class NotStuckError(RoleSyncError):
    """The run exists but is not waiting to be finished: nothing to abandon."""


def abandon(profile: Profile, run_id: str, reason: str, *, clock: Clock) -> RunRow:
    """Mark the profile's unfinished run `run_id` abandoned with `reason`; its row after."""
    reason = " ".join(reason.split())
    if not reason:
        raise UsageError("--reason must say why the run is given up")
    with locked_state(profile, clock) as store:
        run = store.run(run_id)
        if run is None or run.profile != profile.name:
            raise UsageError(f"no run {run_id!r} of profile {profile.name} in {store.label}")
        if run.status not in UNFINISHED:
            raise NotStuckError(
                f"run {run_id} is {run.status}, not unfinished: only a run that crashed or "
                "was interrupted can be abandoned"
            )
        before = f" (was {run.status}: {run.message})" if run.message else ""
        row = store.finish_run(
            run.id,
            status=RunStatus.ABANDONED,
            finished=clock().isoformat(),
            report_path="",
            message=f"abandoned: {reason}{before}",
        )
    event(
        "run-abandoned",
        f"run {row.id}: abandoned: {reason}; {row.applied} applied changes stay recorded",
        run_id=row.id,
        applied=row.applied,
        planned=row.planned,
        reason=reason,
    )
    return row
