"""`rolesync completion bash|zsh|fish`: print a shell completion script."""

from __future__ import annotations

import argparse

from roleSync.cli.common import Subparsers, out_document
from roleSync.errors import ExitCode

SHELLS = ("bash", "zsh", "fish")


def register(sub: Subparsers) -> None:
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for the shell on stdout. "
        "bash: `rolesync completion bash > ~/.local/share/bash-completion/completions/rolesync`; "
        "zsh: `rolesync completion zsh > ~/.zfunc/_rolesync` (a folder on $fpath); "
        "fish: `rolesync completion fish > ~/.config/fish/completions/rolesync.fish`.",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    completion.set_defaults(handler=run_completion)


def run_completion(args: argparse.Namespace) -> ExitCode:
    from roleSync.cli import build_parser
    from roleSync.shell_completion import script

    # The whole parser (every command module), whatever this run registered.
    out_document(script(args.shell, build_parser()).rstrip("\n"))
    return ExitCode.OK
