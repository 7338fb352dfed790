"""`rolesync emulate salesforce`: serving until stopped, refusing other hosts, fault files."""

from __future__ import annotations

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
import requests
from simple_salesforce.api import Salesforce

from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceFaults, load_faults
from roleSync.errors import InputError


def _lines(stream: IO[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serves_until_stopped(stop: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "roleSync", "emulate", "salesforce", "--port", "0",
         "--users", "3", "--accounts", "12", "--opportunities", "20",
         "--contacts", "7", "--tasks", "5"],
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
        url = re.search(r"listening on (https://127\.0\.0\.1:\d+)", text)
        ca = re.search(r"export SF_CA_BUNDLE='([^']+)'", text)
        token = re.search(r"export SF_ACCESS_TOKEN='([^']+)'", text)
        assert url and ca and token, text
        assert "throwaway" in text and "export SF_REFRESH_TOKEN=" in text
        session = requests.Session()
        session.verify, session.trust_env = ca.group(1), False
        sf = Salesforce(
            instance_url=url.group(1), session_id=token.group(1), version="62.0", session=session
        )
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 12
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 7
        assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 5
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert not Path(ca.group(1)).exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_refuses_hosts_beyond_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "salesforce", "--host", "0.0.0.0"]) == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_accounts_needed_for_contacts_and_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "salesforce", "--accounts", "0", "--opportunities", "0",
                 "--contacts", "3"]) == 2  # fmt: skip
    assert "--accounts must be at least 1" in capsys.readouterr().err


def test_bad_fault_file_is_a_positioned_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("unavailable_every: 5\nlock_row_rate: 2\ndrop_evry: 3\n")
    assert main(["emulate", "salesforce", "--faults", str(faults)]) == 1
    err = capsys.readouterr().err
    assert f"{faults}:3:1: error: unknown setting 'drop_evry'" in err


def test_fault_values_are_checked(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  unavailable_every: 5\n  lock_row_rate: 2\n")
    with pytest.raises(InputError) as caught:
        load_faults(faults)
    assert [(d.line, d.code) for d in caught.value.diagnostics] == [(3, "faults-value")]


def test_fault_files_in_yaml_or_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text(
        "# every fault at once\nrequest_limit_after: 500\nunavailable_every: 7\nslow_every: 5\n"
        "slow_seconds: 0.5\ndrop_every: 11\ninvalid_session_after: 100\nlock_row_rate: 0.1\n"
        "lock_row_attempts: 2\nseed: 42\n"
    )
    json_file = tmp_path / "faults.json"
    json_file.write_text('{"faults": {"drop_every": 3, "drop_after_processing": true}}')
    assert load_faults(yaml_file) == SalesforceFaults(
        request_limit_after=500,
        unavailable_every=7,
        slow_every=5,
        slow_seconds=0.5,
        drop_every=11,
        invalid_session_after=100,
        lock_row_rate=0.1,
        lock_row_attempts=2,
        seed=42,
    )
    assert load_faults(json_file) == SalesforceFaults(drop_every=3, drop_after_processing=True)
