"""A Dagster job that runs `rolesync sync` through the Python API (docs/python-api.md).

One op calls roleSync.api.sync and fails the Dagster run when the roleSync run failed,
left handoffs stuck (`fail_on`), or could not start (any roleSync.errors.RoleSyncError:
bad rules or profile, the CRM, the state store, a guardrail, another run holding the
lock). The run's counts become the op's output metadata.

    pip install 'rolesync[dagster]'
    dagster dev -f deploy/dagster/rolesync_job.py     # UI; or let the schedule run it

The profile, rules and flags come from the run config (see `ROLESYNC_CONFIG`); the CRM's
credentials stay in the environment variables the profile names, as for the CLI.
"""

import dagster as dg
from pydantic import Field

from roleSync import api
from roleSync.errors import RoleSyncError


class SyncConfig(dg.Config):
    """What `rolesync sync -c PROFILE -r RULES ...` is given on the command line."""

    profile: str = "connectors/local.yaml"
    rules: list[str] = Field(default_factory=lambda: ["rules"])  # files or folders
    as_of: str | None = None  # YYYY-MM-DD; None: today (UTC)
    allow_large: bool = False
    fail_on: list[str] | None = None  # None: the profile's alerts.fail_on


@dg.op(out=dg.Out(dict))
def rolesync_sync(context: dg.OpExecutionContext, config: SyncConfig) -> dict[str, str | int]:
    from datetime import date

    as_of = date.fromisoformat(config.as_of) if config.as_of else None
    try:
        result = api.sync(
            config.profile,
            config.rules,
            as_of=as_of,
            allow_large=config.allow_large,
            fail_on=config.fail_on,
        )
    except RoleSyncError as exc:
        # The line `rolesync` would print, and its exit code: no traceback to read.
        raise dg.Failure(description=str(exc), metadata={"exit_code": int(exc.exit_code)}) from None
    counts: dict[str, str | int] = {
        "run_id": result.run_id,
        "outcome": str(result.outcome),
        "exit_code": int(result.exit_code),
        "planned": result.counts.planned,
        "applied": result.counts.applied,
        "conflicts": result.counts.conflicts,
        "failed": result.counts.failed,
        "skipped": result.counts.skipped,
        "report": str(result.report_path),
    }
    if result.outcome is not api.RunOutcome.OK:
        why = result.stuck or f"{result.counts.failed} changes failed"
        raise dg.Failure(description=f"run {result.run_id}: {why}", metadata=counts)
    context.add_output_metadata(counts)
    return counts


@dg.job
def rolesync_job() -> None:
    rolesync_sync()


ROLESYNC_CONFIG = {"ops": {"rolesync_sync": {"config": {"profile": "connectors/local.yaml"}}}}

defs = dg.Definitions(
    jobs=[rolesync_job],
    schedules=[
        dg.ScheduleDefinition(
            job=rolesync_job, cron_schedule="0 6 * * *", run_config=ROLESYNC_CONFIG
        )
    ],
)
