"""`rolesync completion bash|zsh|fish`: each script names every command, is accepted by
its shell, and (bash, fish: driven here) completes commands, options and choices."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from roleSync.cli import COMMAND_MODULES, main

COMMANDS = [c for _, commands in COMMAND_MODULES for c in commands]
SHELLS = ("bash", "zsh", "fish")


def _script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("shell", SHELLS)
def test_the_script_names_every_command_and_subcommand(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _script(shell, capsys)
    assert "completion" in COMMANDS and len(COMMANDS) >= 16
    # bash and zsh step down on `"PARENT|WORD")`; fish offers each with `-a WORD`.
    form = "-a {} " if shell == "fish" else '|{}")'
    for command in [*COMMANDS, "show", "abandon", "salesforce", "hubspot"]:
        assert form.format(command) in text
    assert ("-l connector" if shell == "fish" else "--connector") in text


def _shell_or_skip(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed: its syntax check cannot run")
    return found


@pytest.mark.parametrize("shell", SHELLS)
def test_the_shell_accepts_the_script(
    shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = _shell_or_skip(shell)
    script = tmp_path / f"rolesync.{shell}"
    script.write_text(_script(shell, capsys))
    done = subprocess.run(
        [program, "-n", str(script)], capture_output=True, text=True, check=False, timeout=30
    )
    assert done.returncode == 0, done.stderr


BASH_CASES = [
    (["rolesync", "ch"], ["check"]),
    (["rolesync", "check", "--fo"], ["--format"]),
    (["rolesync", "check", "--format", ""], ["text", "json", "github", "junit", "sarif"]),
    (["rolesync", "runs", ""], ["show", "abandon"]),
    (["rolesync", "emulate", "h"], ["hubspot"]),
    (["rolesync", "completion", "z"], ["zsh"]),  # a positional's choices
    (["rolesync", "check", ""], []),  # a positional path: bash falls back to file names
    (["rolesync", "check", "-c", ""], []),  # a path: file names too
]


@pytest.mark.parametrize(("words", "expected"), BASH_CASES)
def test_bash_completes(
    words: list[str], expected: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = _shell_or_skip("bash")
    script = tmp_path / "rolesync.bash"
    script.write_text(_script("bash", capsys))
    quoted = " ".join(f"'{w}'" for w in words)
    drive = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
        '_rolesync; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        [program, "--norc", "-c", drive], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.split() == expected


def test_fish_completes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = _shell_or_skip("fish")
    script = tmp_path / "rolesync.fish"
    script.write_text(_script("fish", capsys))
    answers = {}
    for line in (
        "rolesync ch",
        "rolesync check --format ",
        "rolesync runs ",
        "rolesync completion ",
    ):
        done = subprocess.run(
            [program, "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        answers[line] = sorted(row.split("\t")[0] for row in done.stdout.splitlines())
    assert answers == {
        "rolesync ch": ["check"],
        "rolesync check --format ": ["github", "json", "junit", "sarif", "text"],
        "rolesync runs ": ["abandon", "show"],
        "rolesync completion ": ["bash", "fish", "zsh"],
    }
