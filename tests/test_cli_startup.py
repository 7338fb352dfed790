"""Start-up: a run imports the module of its command only, `--version` none; the
command table stays in step with what the modules register. Timings live in
benchmarks/startup.py (no wall-clock assertion here); these tests pin what is imported,
which is what makes start-up fast."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from roleSync.cli import COMMAND_MODULES, build_parser, command_module, command_word, main

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(argv: list[str]) -> set[str]:
    """The modules loaded by `rolesync ARGV` in a fresh interpreter (exit code ignored)."""
    code = (
        "import json, sys\n"
        "from roleSync.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return set(loaded)


def _matching(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


def test_version_imports_no_command_module_and_no_library() -> None:
    loaded = _modules_after(["--version"])
    assert "roleSync.cli" in loaded  # the probe ran
    assert _matching(loaded, "roleSync.cli.", "pydantic", "ruamel", "rich", "sqlite3") == []
    assert _matching(loaded, "argparse", "roleSync.errors", "roleSync.rules") == []


def test_check_of_rule_files_imports_only_what_check_needs() -> None:
    loaded = _modules_after(["check", "rules/"])
    assert "roleSync.cli.check_cmd" in loaded and "roleSync.rules.schema" in loaded
    commands = sorted(m for m in loaded if m.startswith("roleSync.cli."))
    assert commands == ["roleSync.cli.check_cmd", "roleSync.cli.common"]
    heavy = _matching(
        loaded,
        "roleSync.plan.build",
        "roleSync.profile.model",
        "roleSync.sync",
        "roleSync.adapters",
        "roleSync.report",
        "roleSync.health",
        "rich",
        "requests",
        "sqlite3",
        "xml.etree",
    )
    assert heavy == []


def test_help_imports_every_command_module() -> None:
    loaded = _modules_after(["--help"])
    expected = {f"roleSync.cli.{module}" for module, _ in COMMAND_MODULES}
    assert expected <= loaded


# The run commands register options shared with the state store's types at import; every
# other command module imports its library inside its handler (the CLI start-up rule).
HEAVY_AT_IMPORT = {"run_cmds", "history_cmds"}
LIBRARIES = ("pydantic", "ruamel", "rich", "requests", "sqlite3", "simple_salesforce", "hubspot")


@pytest.mark.parametrize("module", [m for m, _ in COMMAND_MODULES if m not in HEAVY_AT_IMPORT])
def test_a_command_module_imports_no_library_at_import(module: str) -> None:
    code = (
        f"import json, sys\nimport roleSync.cli.{module}\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert f"roleSync.cli.{module}" in loaded
    assert _matching(loaded, *LIBRARIES) == []


def _registered(module: str) -> list[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    command_module(module).register(sub)
    return list(sub.choices)


@pytest.mark.parametrize(("module", "commands"), COMMAND_MODULES)
def test_the_table_names_the_commands_each_module_registers(
    module: str, commands: tuple[str, ...]
) -> None:
    # A command missing from the table would never be found by its name.
    assert _registered(module) == list(commands)


def test_help_lists_the_commands_in_the_table_order() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    listed = list(sub.choices)
    assert listed[:6] == ["demo", "import", "plan", "apply", "sync", "diff"]
    assert listed == [c for _, commands in COMMAND_MODULES for c in commands]


def test_a_run_registers_its_command_only() -> None:
    sub = next(
        a for a in build_parser("sync")._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert list(sub.choices) == ["demo", "import", "plan", "apply", "sync"]  # run_cmds's


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["check", "rules/"], "check"),
        (["--version"], None),
        (["-h"], None),
        ([], None),
        (["--", "check"], None),
        (["--help", "runs"], None),  # the top-level help: every command
        (["runs", "show", "--help"], "runs"),
    ],
)
def test_command_word(argv: list[str], word: str | None) -> None:
    assert command_word(argv) == word


def test_version_answers_without_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("rolesync ")


def test_a_mistyped_command_is_still_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    # Not a known command: every module is registered, so argparse lists the choices.
    with pytest.raises(SystemExit) as stop:
        main(["chekc", "rules/"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'chekc'" in err and "'check'" in err
