"""Shared by the `rolesync diff` tests: run the command, read its JSON, swap roles."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from roleSync.cli import main


def swap_roles(text: str) -> str:
    """roles.yaml with `role: hunter` and `role: farmer` swapped, as the issue's admin did."""
    return (
        text.replace("role: hunter", "role: @@")
        .replace("role: farmer", "role: hunter")
        .replace("role: @@", "role: farmer")
    )


def diff_json(capsys: pytest.CaptureFixture[str], args: list[str], expect: int) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["diff", *args, "--format", "json"]) == expect
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def write_rules(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def git(repo: Path, *args: str) -> str:
    """git in `repo`, with no user or system configuration and a fixed committer."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    who = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    done = subprocess.run(
        ["git", *who, *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout
