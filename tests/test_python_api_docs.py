"""docs/python-api.md stays true: its python blocks run, in order, in one namespace, in a
folder holding the demo book (demo.yaml, rules/), as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api_book import demo_folder

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def test_the_page_has_examples() -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for name in ("plan", "apply", "sync", "explain", "report", "diff"):
        assert any(f"api.{name}(" in block for block in blocks), name


def test_the_examples_run_on_the_demo_book(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(demo_folder(tmp_path, tmp_path_factory.getbasetemp()))
    namespace: dict[str, object] = {"__name__": "python_api_docs"}
    for number, block in enumerate(python_blocks(DOC.read_text(encoding="utf-8")), 1):
        code = compile(block, f"{DOC.name} (python block {number})", "exec")
        exec(code, namespace)
    shown = capsys.readouterr().out
    # What the blocks print is what the page says they print.
    assert "plan: " in shown and "ownership changes" in shown
    assert "stuck handoffs: " in shown
    assert re.search(r"broken\.yaml:\d+:\d+: error: .* \[[a-z-]+\]", shown)
