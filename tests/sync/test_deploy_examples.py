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
from roleSync.profile import load_profile

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


def configmap_profile() -> dict[str, Any]:
    """The profile the Kubernetes examples mount, from their ConfigMap."""
    documents = load_yaml(DEPLOY / "kubernetes" / "rolesync-cronjob.yaml")
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    profile: dict[str, Any] = YAML(typ="safe").load(config["data"]["crm.yaml"])
    return profile


def assert_pod_without_a_volume_claim(documents: list[Any], pod: dict[str, Any]) -> None:
    """State on PostgreSQL: no claim, scratch on emptyDir, secrets by secretKeyRef, the
    image's non-root user on a read-only root."""
    assert not [d for d in documents if d["kind"] == "PersistentVolumeClaim"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for volume in volumes.values():
        assert set(volume) - {"name"} <= {"configMap", "secret", "emptyDir"}, volume
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    profile = configmap_profile()
    assert "emptyDir" in mounts[profile["state_dir"]] and "emptyDir" in mounts["/tmp"]
    config = mounts["/etc/rolesync/crm.yaml"]["configMap"]["name"]
    assert config == "rolesync-config" and "/etc/rolesync/crm.yaml" in container["args"]
    env = {e["name"]: e for e in container.get("env", [])}
    assert "envFrom" not in container and all("value" not in e for e in env.values())
    assert profile["state"]["backend"] == "postgresql"
    url = env[profile["state"]["url_env"]]["valueFrom"]["secretKeyRef"]
    assert url == {"name": "rolesync-state", "key": "url"}


def test_kubernetes_profile_names_its_secrets_and_state() -> None:
    """Every credential variable the profile names comes from a Secret; the state URL is
    never in the profile; the profile (less the new state keys) loads today."""
    profile = configmap_profile()
    assert profile["state"]["url_env"] == "ROLESYNC_STATE_URL"
    assert not re.search(r"postgres(ql)?://|@", str(profile))  # no state URL, no password
    documents = load_yaml(DEPLOY / "kubernetes" / "rolesync-cronjob.yaml")
    (cronjob,) = [d for d in documents if d["kind"] == "CronJob"]
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    refs = {e["name"] for e in container["env"] if "secretKeyRef" in e["valueFrom"]}
    named = {v for k, v in profile["salesforce"]["auth"].items() if k.endswith("_env")}
    assert named and named <= refs


def write_profile(tmp_path: Path, profile: dict[str, Any]) -> Path:
    path = tmp_path / "crm.yaml"
    with path.open("w") as handle:
        YAML(typ="safe").dump(profile, handle)
    return path


def test_kubernetes_profile_loads_without_the_state_section(tmp_path: Path) -> None:
    profile = configmap_profile()
    del profile["state"]
    loaded = load_profile(write_profile(tmp_path, profile))
    assert loaded.kind == "salesforce" and loaded.state_path == Path("/var/lib/rolesync")


def test_kubernetes_profile_loads_with_postgresql_state(tmp_path: Path) -> None:
    loaded = load_profile(write_profile(tmp_path, configmap_profile()))
    state = loaded.state.model_dump()
    assert state["backend"] == "postgresql" and state["url_env"] == "ROLESYNC_STATE_URL"


def test_kubernetes_migrate_job() -> None:
    cronjob_docs = load_yaml(DEPLOY / "kubernetes" / "rolesync-cronjob.yaml")
    (cronjob,) = [d for d in cronjob_docs if d["kind"] == "CronJob"]
    sync_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    documents = load_yaml(DEPLOY / "kubernetes" / "rolesync-migrate-job.yaml")
    (job,) = documents
    assert job["kind"] == "Job"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"][:2] == ["state", "migrate"]
    assert container["image"] == sync_pod["containers"][0]["image"]
    assert pod["securityContext"] == sync_pod["securityContext"]
    assert_pod_without_a_volume_claim(documents, pod)


def test_kubernetes_migrate_job_command_parses() -> None:
    (job,) = load_yaml(DEPLOY / "kubernetes" / "rolesync-migrate-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    try:
        args = build_parser().parse_args(container["args"])
    except SystemExit as exit_:  # argparse's answer to an unknown command
        raise AssertionError(f"rolesync {container['args']}: exit {exit_.code}") from None
    assert args.connector == Path("/etc/rolesync/crm.yaml")


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
    """State on PostgreSQL from a secret: no Actions cache (it evicts the audit log after
    7 days unused), the run's plan and report uploaded as an artifact instead."""
    text = (DEPLOY / "github-actions" / "rolesync-sync.yml").read_text()
    (workflow,) = load_yaml(DEPLOY / "github-actions" / "rolesync-sync.yml")
    (schedule,) = workflow["on"]["schedule"]
    assert_cron(schedule["cron"])
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["sync"]["steps"]
    (run,) = [s["run"] for s in steps if "rolesync sync" in s.get("run", "")]
    assert_sync_command(shlex.split(run))
    sync = next(s for s in steps if s.get("run") == run)
    assert sync["env"]["ROLESYNC_STATE_URL"] == "${{ secrets.ROLESYNC_STATE_URL }}"
    assert "${{ secrets.SF_" in str(sync["env"])
    assert not [s for s in steps if "actions/cache" in str(s.get("uses", ""))]
    assert "actions/cache" not in text and "cache:" not in text
    (install,) = [s["run"] for s in steps if "pip install" in s.get("run", "")]
    assert "rolesync[postgres]" in install
    (report,) = [s for s in steps if str(s.get("run", "")).startswith("rolesync report")]
    args = build_parser().parse_args(shlex.split(report["run"])[1:])
    assert args.command == "report" and args.connector == Path("connectors/crm.yaml")
    assert report["env"]["ROLESYNC_STATE_URL"] == "${{ secrets.ROLESYNC_STATE_URL }}"
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["if"] == "always()"  # also the plan a guardrail stopped (exit 3)
    assert upload["with"]["path"].rstrip("/") == "connectors/.rolesync/runs"
    assert steps.index(sync) < steps.index(report) < steps.index(upload)


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
    assert_pod_without_a_volume_claim(documents, pod)


@pytest.mark.parametrize("bad", ["61 * * * *", "* * * *", "*/5 25 * * *", "a * * * *"])
def test_the_cron_check_catches_mistakes(bad: str) -> None:
    with pytest.raises(AssertionError):
        assert_cron(bad)
