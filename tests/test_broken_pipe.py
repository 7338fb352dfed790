"""`rolesync ... | head`: a reader that stops early ends the command quietly (exit 141, as
a tool killed by SIGPIPE), never with a BrokenPipeError traceback."""

from __future__ import annotations

import subprocess
import sys

# A command whose output is far larger than a pipe's buffer (64 KiB), so that writing
# it meets the closed pipe: `schema`'s handler, made to print a megabyte.
SCRIPT = """
import sys
from roleSync import cli
from roleSync.cli import schema_cmd

def big(args):
    for n in range(20_000):
        print(f"line {n:06d} " + "x" * 40)
    return 0

schema_cmd.run_schema = big
sys.exit(cli.main(["schema"]))
"""


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.read(100)
    child.stdout.close()  # the reader goes away, as `head -c 100` does
    err = child.stderr.read().decode()
    code = child.wait(timeout=60)
    assert first.startswith(b"line 000000 ")
    assert code == 141, err
    assert err == ""  # no traceback, no "Exception ignored" at exit
