"""The ``python`` blocks of docs/sdk.md run, in order, in one namespace, from an empty directory."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import xray_core as xray

DOCS = Path(__file__).resolve().parents[2] / "docs"
SDK_DOC = DOCS / "sdk.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """The ``python`` code blocks of a Markdown file, with the line each starts on."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def run_blocks(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the ``python`` blocks of ``path`` in order, in one fresh module."""
    blocks = python_blocks(path)
    assert blocks, f"{path} has no python examples"
    module = types.ModuleType("doc_examples")  # a real module: dataclasses look their module up
    monkeypatch.setitem(sys.modules, "doc_examples", module)
    for line, code in blocks:
        try:
            exec(compile(code, f"{path}:{line}", "exec"), module.__dict__)
        except Exception as exc:  # pragma: no cover - the message points at the block
            raise AssertionError(f"the example at {path.name} line {line} failed: {exc!r}") from exc


def test_sdk_doc_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert len(python_blocks(SDK_DOC)) >= 15
    run_blocks(SDK_DOC, monkeypatch)
    printed = capsys.readouterr().out
    # what the doc shows as printed output is what the code prints
    assert "B0X was rejected by 'price' in step 'filter_and_select'." in printed
    assert "evaluated items: B0X, B0Y" in printed
    assert "  B0X: rejected by price -> qualified (price: 9.50 < 12.50 (failed) -> 13.00" in printed
    assert "    keyword_generation.llm.model: 'mock-llm' -> 'mock-llm-2'" in printed
    xray.get_recorder().store.close()


def test_storage_doc_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run_blocks(DOCS / "storage.md", monkeypatch)
    assert capsys.readouterr().out.split() == ["completed", "['r2']", "4"]


def test_every_public_name_is_documented() -> None:
    text = SDK_DOC.read_text(encoding="utf-8")
    missing = [name for name in xray.__all__ if not re.search(rf"\b{name}\b", text)]
    assert missing == []
