"""The scheduler examples under deploy/ parse, run `rolesync sync -c ... --log-format json`,
have a valid schedule and guard against two runs at once."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from roleSync.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def assert_cron(expression: str) -> None:
    """Five cron fields, each a valid list of values, ranges and steps within bounds."""
    fields = expression.split()
    assert len(fields) == 5, expression
    for field, (low, high) in zip(fields, _RANGES, strict=True):
        assert _FIELD.match(field), (field, expression)
        for number in re.findall(r"(?<!/)\b\d+", field):
            assert low <= int(number) <= high, (field, expression)


def assert_sync_command(argv: list[str]) -> None:
    """A `rolesync sync` the CLI accepts, with a profile and JSON logs."""
    start = argv.index("sync")
    assert start >= 1 and Path(argv[start - 1]).name == "rolesync", argv
    args = build_parser().parse_args(argv[start:])
    assert args.command == "sync"
    assert args.connector is not None and args.log_format == "json"
    assert not args.allow_large  # a scheduler must never bypass the guardrails


def load_yaml(path: Path) -> list[Any]:
    return list(YAML(typ="safe").load_all(path.read_text()))


def test_cron_entry() -> None:
    lines = [
        line
        for line in (DEPLOY / "cron" / "rolesync").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    env = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))
    assert env["SHELL"] == "/bin/sh" and "/opt/rolesync/bin" in env["PATH"]
    (job,) = [line for line in lines if not re.match(r"^[A-Z_]+=", line)]
    fields = job.split(maxsplit=6)
    assert_cron(" ".join(fields[:5]))
    assert fields[5] == "rolesync"  # /etc/cron.d lines name the user
    command = fields[6]
    assert "%" not in command  # cron would turn it into a newline
    sync = command[command.index("rolesync sync") :].split(" 2>>")[0]
    assert_sync_command(shlex.split(sync))
    assert command.endswith("|| [ $? -eq 4 ]")  # lock held: skipped, not failed


def test_systemd_service_and_timer() -> None:
    def unit(name: str) -> configparser.RawConfigParser:
        parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(DEPLOY / "systemd" / name)
        return parser

    service, timer = unit("rolesync-sync.service"), unit("rolesync-sync.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["SuccessExitStatus"] == "4"
    assert_sync_command(shlex.split(service["Service"]["ExecStart"]))
    assert timer["Timer"]["Unit"] == "rolesync-sync.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    calendar = timer["Timer"]["OnCalendar"]
    analyze = shutil.which("systemd-analyze")
    if analyze:
        result = subprocess.run(
            [analyze, "calendar", calendar], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "Normalized form: *-*-* *:00/30:00" in result.stdout
    else:
        assert calendar == "*-*-* *:00/30:00"


def test_github_actions_workflow() -> None:
    (workflow,) = load_yaml(DEPLOY / "github-actions" / "rolesync-sync.yml")
    (schedule,) = workflow["on"]["schedule"]
    assert_cron(schedule["cron"])
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["sync"]["steps"]
    (run,) = [s["run"] for s in steps if "rolesync sync" in s.get("run", "")]
    assert_sync_command(shlex.split(run))
    assert "${{ secrets." in str(next(s for s in steps if s.get("run") == run)["env"])
    saved = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save")]
    assert saved and saved[0]["if"] == "always()"  # the journal survives a failed run


def test_github_actions_review_workflow() -> None:
    """The pull-request example: the action in review mode, with what it needs."""
    (workflow,) = load_yaml(DEPLOY / "github-actions" / "rolesync-review.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = workflow["jobs"]["review"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be fetched
    (review,) = [s for s in steps if s.get("with", {}).get("mode") == "review"]
    action = YAML(typ="safe").load((DEPLOY.parent / "action.yml").read_text())
    assert set(review["with"]) <= set(action["inputs"])
    assert review["with"]["profile"] and "github.token" in review["with"]["token"]


def test_kubernetes_cronjob() -> None:
    documents = load_yaml(DEPLOY / "kubernetes" / "rolesync-cronjob.yaml")
    (cronjob,) = [d for d in documents if d["kind"] == "CronJob"]
    spec = cronjob["spec"]
    assert_cron(spec["schedule"])
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert_sync_command(["rolesync", *container["args"]])
    state = next(m for m in container["volumeMounts"] if m["name"] == "state")
    claim = next(v for v in pod["volumes"] if v["name"] == "state")
    pvc = next(d for d in documents if d["kind"] == "PersistentVolumeClaim")
    assert claim["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert state["mountPath"] == "/var/lib/rolesync"


@pytest.mark.parametrize("bad", ["61 * * * *", "* * * *", "*/5 25 * * *", "a * * * *"])
def test_the_cron_check_catches_mistakes(bad: str) -> None:
    with pytest.raises(AssertionError):
        assert_cron(bad)
