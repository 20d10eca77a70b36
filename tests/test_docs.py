"""Every ``--xray-*`` option, ini key and ``pytest_xray_*`` hook is documented, and the docs'
marked examples (``<!-- pytester: FILE -->`` before a code block) run and pass."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pytest_xray import hooks

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE = re.compile(r"<!-- pytester: (\S+) -->\n```python\n(.*?)```", re.DOTALL)


def docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


def test_every_option_and_ini_key_is_documented(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest("--help").stdout.str()
    options = set(re.findall(r"--xray-[a-z-]+", help_text))
    ini_keys = set(re.findall(r"^  (xray_[a-z_]+) \(", help_text, re.MULTILINE))
    assert options >= {"--xray-report", "--xray-db", "--xray-update", "--xray-unused"}
    assert ini_keys >= {"xray_report", "xray_db", "xray_update", "xray_unused"}
    text = docs_text()
    assert [o for o in sorted(options | ini_keys) if o not in text] == []


def test_every_hook_is_documented() -> None:
    names = [
        n for n, f in inspect.getmembers(hooks, inspect.isfunction) if n.startswith("pytest_xray_")
    ]
    assert len(names) == 4
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert [n for n in names if f"## `{n}(" not in text] == []


@pytest.mark.parametrize("page", ["plugin.md", "baselines.md", "hooks.md"])
def test_marked_examples_pass(pytester: pytest.Pytester, page: str) -> None:
    examples = EXAMPLE.findall((DOCS / page).read_text(encoding="utf-8"))
    assert examples, f"{page} has no runnable example"
    for name, code in examples:
        (pytester.path / name).write_text(code, encoding="utf-8")
    first = pytester.runpytest("--xray-update", "-p", "no:cacheprovider")
    assert first.ret == 0, first.stdout.str()
    again = pytester.runpytest("-p", "no:cacheprovider")
    assert again.ret == 0, again.stdout.str()
