"""The Action's review step with the real `rolesync diff` (no stand-in): a pull request
that swaps hunter and farmer in a repository made here is shown in the job summary,
commented on through the loopback fake of GitHub's API, and fails the job (exit 3)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from diff_helpers import git, swap_roles
from ruamel.yaml import YAML

from csv_book import FARMERS_IN_TURN, import_book, local_profile
from roleSync.emulators.github import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]
REPO, PR = "acme/rules", 7
# Default guardrails: max_share 0.2 of this two-account book.
PROFILE = local_profile("review")
OWNERS = "id,name,email\nhank,Hank,hank@example.com\nella,Ella,ella@example.com\n"
ROUTING = FARMERS_IN_TURN


def diff_step() -> dict[str, Any]:
    action: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text("utf-8"))
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "rolesync diff"]
    return step


def test_the_review_step_runs_the_real_diff_and_fails_a_swap(tmp_path: Path) -> None:
    book = tmp_path / "repo"
    book.mkdir()
    _, rules = import_book(book, PROFILE, OWNERS, {"c1": "", "c2": ""}, ROUTING)
    roles = rules / "roles.yaml"
    hank_hunts = roles.read_text("utf-8")
    # The base branch has the roles swapped (nothing moves: hank farms); the pull
    # request puts them right, and both of hank's customers would move: 100% > 20%.
    roles.write_text(swap_roles(hank_hunts), "utf-8")
    git(book, "init", "-q", "-b", "main")
    git(book, "add", "rules", "profile.yaml")
    git(book, "commit", "-q", "-m", "base")
    roles.write_text(hank_hunts, "utf-8")
    git(book, "commit", "-q", "-am", "pull request")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "rolesync"
    wrapper.write_text(
        f'#!/usr/bin/env bash\nexec {shlex.quote(sys.executable)} -m roleSync "$@"\n'
    )
    wrapper.chmod(0o755)
    (tmp_path / "runner").mkdir()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR}}))
    summary = tmp_path / "summary.md"
    with GitHubEmulator() as github:
        github.add_pull_request(REPO, PR)
        inputs = {"profile": "profile.yaml", "rules": "rules", "base-ref": "HEAD~1",
                  "token": github.config.token}  # fmt: skip
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "RUNNER_TEMP": str(tmp_path / "runner"),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_PATH": str(event),
        }
        step = diff_step()
        for name, value in step["env"].items():
            env[name] = inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=book, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        comments = github.comments(REPO, PR)
    assert done.returncode == 3, done.stderr
    assert "the guardrails would stop this rule change" in done.stdout
    markdown = summary.read_text("utf-8")
    assert "⛔ **The guardrails would stop this change.**" in markdown
    assert "2 owners change role, 2 accounts change handoff" in markdown
    assert "| `c1` | `c1` | `Hank` | `stays` | `moves to Ella (farmers)` |" in markdown
    assert "Base rules `HEAD~1:rules`" in markdown
    (comment,) = comments
    assert comment["body"].endswith(markdown)
    assert git(book, "status", "--porcelain", "--", "rules") == ""
