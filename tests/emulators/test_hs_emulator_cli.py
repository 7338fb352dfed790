"""The `emulate hubspot` entry points: serving until Ctrl-C, loopback only, fault files."""

from __future__ import annotations

import argparse
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from hs_emu_support import sdk

from roleSync.cli import main as rolesync
from roleSync.cli.common import CommandUsageError
from roleSync.cli.emulate_cmd import add_hubspot_arguments
from roleSync.emulators.hubspot.cli import serve_hubspot_from_args
from roleSync.errors import InputError


def _lines(stream: IO[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_hubspot_arguments(parser)
    return parser.parse_args(list(argv))


def test_serves_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "roleSync", "emulate", "hubspot", "--port", "0",
         "--owners", "3", "--companies", "12", "--deals", "20", "--burst-limit", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while not output or output[-1].strip() != "Serving until Ctrl-C.":
            output.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        text = "".join(output)
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", text)
        token = re.search(r"export HUBSPOT_ACCESS_TOKEN='([^']+)'", text)
        assert url and token, text
        assert "throwaway" in text and "export HUBSPOT_REFRESH_TOKEN=" in text
        assert f"export HUBSPOT_HOST='{url.group(1)}'" in text
        assert "50 requests / 10000 ms" in text
        page = sdk(url.group(1), token.group(1)).crm.companies.basic_api.get_page(limit=100)
        assert len(page.results) == 12
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        rest = process.stdout.read() if process.stdout else ""
        assert "emulator stopped after 1 requests" in "".join([*output, rest, *lines.queue])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serves_in_a_thread_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    outcome: list[int] = []
    args = _args("--port", "0", "--owners", "2", "--companies", "3", "--deals", "0",
                 "--contacts", "4", "--tasks", "5")  # fmt: skip
    worker = threading.Thread(
        target=lambda: outcome.append(serve_hubspot_from_args(args, stop=stop))
    )
    worker.start()
    deadline = time.monotonic() + 10
    printed = ""
    while "Serving until Ctrl-C." not in printed and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += capsys.readouterr().out
    stop.set()
    worker.join(10)
    assert outcome == [0]
    assert "3 companies, 0 deals, 4 contacts, 5 tasks" in printed


def test_companies_needed_for_contacts_and_tasks() -> None:
    with pytest.raises(CommandUsageError, match="--companies"):
        serve_hubspot_from_args(_args("--companies", "0", "--deals", "0", "--tasks", "2"))


def test_refuses_hosts_beyond_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandUsageError, match="not a loopback address"):
        serve_hubspot_from_args(_args("--host", "0.0.0.0"))
    assert rolesync(["emulate", "hubspot", "--host", "192.168.1.4"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_owners_needed_for_companies() -> None:
    with pytest.raises(CommandUsageError, match="--owners"):
        serve_hubspot_from_args(_args("--owners", "0"))


def test_bad_fault_file_is_a_positioned_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("unavailable_every: 5\ndrop_evry: 3\n")
    with pytest.raises(InputError):
        serve_hubspot_from_args(_args("--faults", str(faults)))
    assert rolesync(["emulate", "hubspot", "--faults", str(faults)]) == 1
    assert f"{faults}:2:1: error: unknown setting 'drop_evry'" in capsys.readouterr().err


def test_usage_errors_from_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--port", "70000"], ["--burst-limit", "0"], ["--search-lag", "-1"]):
        with pytest.raises(SystemExit) as caught:
            _args(*argv)
        assert caught.value.code == 2
