"""The Action's review mode: action.yml's own shell steps run with bash, a stand-in
`rolesync diff` first on PATH, and the real `rolesync pr-comment` talking to the
loopback fake of GitHub's API."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from roleSync.emulators.github import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]
REPO, PR = "acme/crm-rules", 12
PROFILE = "connectors/hubspot.example.yaml"  # its name: acme-hubspot

# Stands in for `rolesync`: `diff` writes $FAKE_DIFF_MD (or copies $FAKE_DIFF_FILE:
# the environment holds no megabyte) to its -o file and exits
# $FAKE_DIFF_EXIT; everything else is the real CLI. Each call is logged, one per line.
FAKE_ROLESYNC = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [ "$1" = diff ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = -o ] && [ -n "$FAKE_DIFF_FILE" ]; then cp "$FAKE_DIFF_FILE" "$2"
    elif [ "$1" = -o ] && [ -z "$FAKE_NO_OUTPUT" ]; then printf '%s' "$FAKE_DIFF_MD" > "$2"; fi
    shift
  done
  exit "$FAKE_DIFF_EXIT"
fi
exec PYTHON -m roleSync "$@"
"""


def _action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text())
    return data


def _step(name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    (step,) = [s for s in steps if s.get("name") == name]
    return step


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_pull_request(REPO, PR)
        yield emulator


class Runner:
    """Runs one of action.yml's steps as the runner would: bash, the step's env with
    the inputs filled in, and the variables GitHub Actions sets."""

    def __init__(self, tmp: Path, github: GitHubEmulator) -> None:
        self.tmp, self.github = tmp, github
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "rolesync"
        fake.write_text(FAKE_ROLESYNC.replace("PYTHON", shlex.quote(sys.executable)))
        fake.chmod(0o755)
        (tmp / "runner").mkdir()
        event = tmp / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": PR}}))
        self.summary = tmp / "summary.md"
        self.log = tmp / "calls.log"
        self.base_env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp),
            "RUNNER_TEMP": str(tmp / "runner"),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_PATH": str(event),
            "FAKE_LOG": str(self.log),
        }

    def run(
        self, step_name: str, inputs: dict[str, str], **extra: str
    ) -> subprocess.CompletedProcess[str]:
        step = _step(step_name)
        env = dict(self.base_env, **extra)
        for name, value in step.get("env", {}).items():
            # `${{ inputs.x }}` is the only expression the steps' env uses.
            key = value.removeprefix("${{ inputs.").removesuffix(" }}")
            env[name] = inputs[key]
        return subprocess.run(
            ["bash", "-e", "-c", step["run"]],  # GitHub runs `bash -e {0}`
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def _inputs(token: str) -> dict[str, str]:
    return {
        "mode": "review",
        "profile": PROFILE,
        "rules": "rules extra-rules",
        "base-ref": "origin/main",
        "token": token,
    }


def test_inputs_and_steps() -> None:
    action = _action()
    inputs = action["inputs"]
    assert {k: inputs[k]["default"] for k in ("mode", "profile", "rules", "base-ref", "token")} == {
        "mode": "check",
        "profile": "",
        "rules": "rules",
        "base-ref": "origin/${{ github.base_ref }}",
        "token": "",
    }
    names = [s.get("name", s.get("uses", "")) for s in action["runs"]["steps"]]
    assert names[0] == "rolesync mode" and names[-3:] == [
        "rolesync check",
        "rolesync test",
        "rolesync diff",
    ]
    assert _step("rolesync diff")["if"] == "inputs.mode == 'review'"
    assert "${{" not in _step("rolesync diff")["run"]


def test_the_comment_is_created_once_and_updated_on_the_next_push(
    tmp_path: Path, github: GitHubEmulator
) -> None:
    runner = Runner(tmp_path, github)
    token = github.config.token
    first = runner.run(
        "rolesync diff", _inputs(token), FAKE_DIFF_EXIT="6", FAKE_DIFF_MD="## 4 owners change\n"
    )
    assert first.returncode == 0, first.stderr
    report = tmp_path / "runner" / "rolesync-diff.md"
    assert runner.calls()[0] == (
        f"diff -c {PROFILE} -r rules -r extra-rules --base-ref origin/main --format markdown "
        f"-o {report}"
    )
    assert runner.calls()[1] == f"pr-comment {report} -c {PROFILE}"
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 0)

    second = runner.run(
        "rolesync diff", _inputs(token), FAKE_DIFF_EXIT="6", FAKE_DIFF_MD="## 2 owners change\n"
    )
    assert second.returncode == 0, second.stderr
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 1)
    (comment,) = github.comments(REPO, PR)
    assert comment["body"] == "<!-- rolesync-review profile=acme-hubspot -->\n## 2 owners change\n"
    assert runner.summary.read_text() == "## 4 owners change\n## 2 owners change\n"
    assert token not in first.stdout + first.stderr + second.stdout + second.stderr


def test_guardrails_fail_the_job_after_summary_and_comment(
    tmp_path: Path, github: GitHubEmulator
) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run(
        "rolesync diff", _inputs(github.config.token), FAKE_DIFF_EXIT="3", FAKE_DIFF_MD="## stop\n"
    )
    assert done.returncode == 3
    assert "::error title=rolesync diff::the guardrails would stop this rule change" in done.stdout
    assert runner.summary.read_text() == "## stop\n"
    assert github.counters["create_comment"] == 1


def test_nothing_changes_passes(tmp_path: Path, github: GitHubEmulator) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run(
        "rolesync diff", _inputs(github.config.token), FAKE_DIFF_EXIT="0", FAKE_DIFF_MD="nothing\n"
    )
    assert done.returncode == 0 and runner.summary.read_text() == "nothing\n"


def test_bad_input_stops_before_summary_and_comment(tmp_path: Path, github: GitHubEmulator) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run(
        "rolesync diff", _inputs(github.config.token), FAKE_DIFF_EXIT="1", FAKE_DIFF_MD=""
    )
    assert done.returncode == 1
    assert not runner.summary.exists() and len(runner.calls()) == 1
    assert github.counters["requests"] == 0


def test_without_a_token_the_summary_only(tmp_path: Path, github: GitHubEmulator) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run("rolesync diff", _inputs(""), FAKE_DIFF_EXIT="6", FAKE_DIFF_MD="## diff\n")
    assert done.returncode == 0
    assert "no token input: the diff is in the job summary only" in done.stdout
    assert runner.summary.read_text() == "## diff\n" and len(runner.calls()) == 1
    assert github.counters["requests"] == 0


def test_a_diff_that_wrote_nothing_fails(tmp_path: Path, github: GitHubEmulator) -> None:
    runner = Runner(tmp_path, github)
    inputs = _inputs(github.config.token)
    done = runner.run(
        "rolesync diff", inputs, FAKE_DIFF_EXIT="6", FAKE_DIFF_MD="x", FAKE_NO_OUTPUT="1"
    )
    assert done.returncode == 1 and "rolesync diff wrote no report" in done.stdout
    assert not runner.summary.exists() and github.counters["requests"] == 0


def test_a_huge_diff_is_cut_for_the_summary_and_the_comment(
    tmp_path: Path, github: GitHubEmulator
) -> None:
    rows = "".join(f"| owner-{i:06d} | hunter | farmer |\n" for i in range(40_000))
    big = tmp_path / "big.md"
    big.write_text(rows)  # 40,000 rows of 33 bytes: 1,320,000 bytes
    runner = Runner(tmp_path, github)
    inputs = _inputs(github.config.token)
    done = runner.run("rolesync diff", inputs, FAKE_DIFF_EXIT="6", FAKE_DIFF_FILE=str(big))
    assert done.returncode == 0, done.stderr
    summary = runner.summary.read_text()
    assert summary.startswith(rows[:1_000_000])
    assert summary[1_000_000:] == "\n\n> Cut at 1 MB: run `rolesync diff` locally for the rest.\n"
    (comment,) = github.comments(REPO, PR)
    assert len(comment["body"]) <= 65_536 and "characters shown" in comment["body"]
    assert github.counters["invalid"] == 0


def test_a_refused_comment_fails_the_job(tmp_path: Path, github: GitHubEmulator) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run(
        "rolesync diff", _inputs("ghp_not_the_token"), FAKE_DIFF_EXIT="6", FAKE_DIFF_MD="x\n"
    )
    assert done.returncode == 1
    assert "GitHub refused the token" in done.stderr and "ghp_not_the_token" not in done.stderr
    assert runner.summary.read_text() == "x\n"


@pytest.mark.parametrize(
    ("mode", "profile", "code", "said"),
    [
        ("check", "", 0, ""),
        ("review", PROFILE, 0, ""),
        ("review", "", 1, "review mode needs the profile input"),
        ("reveiw", PROFILE, 1, "the mode input must be check or review"),
    ],
)
def test_the_mode_is_checked_first(
    tmp_path: Path, github: GitHubEmulator, mode: str, profile: str, code: int, said: str
) -> None:
    runner = Runner(tmp_path, github)
    done = runner.run("rolesync mode", {"mode": mode, "profile": profile})
    # Workflow commands (::error) are read from stdout.
    assert done.returncode == code and said in done.stdout
