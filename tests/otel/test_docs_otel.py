"""docs/otel.md: its marked examples run — the pytester ones as a real pytest session (in a
subprocess: they set the global TracerProvider), the plain Python ones as a script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "otel.md"
PYTESTER = re.compile(r"<!-- pytester: (\S+) -->\n```python\n(.*?)```", re.DOTALL)
SCRIPT = re.compile(r"<!-- python -->\n```python\n(.*?)```", re.DOTALL)


def test_the_pytester_examples_pass_and_write_a_baseline(pytester: pytest.Pytester) -> None:
    examples = PYTESTER.findall(PAGE.read_text(encoding="utf-8"))
    assert [name for name, _ in examples] == ["conftest.py", "shop.py", "test_shop.py"]
    for name, code in examples:
        (pytester.path / name).write_text(code, encoding="utf-8")
    pytester.runpytest_subprocess("--xray-update").assert_outcomes(passed=1)
    assert list((pytester.path / "__xray_baselines__").glob("*.json"))
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_the_script_examples_run(tmp_path: Path) -> None:
    scripts = SCRIPT.findall(PAGE.read_text(encoding="utf-8"))
    assert scripts
    for index, code in enumerate(scripts):
        path = tmp_path / f"example_{index}.py"
        path.write_text(code, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr


def test_every_name_in_the_mapping_table_is_a_constant_of_names() -> None:
    from xray_core.otel import names

    rows = "\n".join(
        line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("|")
    )
    values = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
    documented = set(
        re.findall(r"`((?:llm|gen_ai|input|output|xray|openinference)\.[a-z_.]+)`", rows)
    )
    assert len(documented) > 30
    prefixes = ("llm.input_messages.", "llm.output_messages.", "gen_ai.prompt.",
                "gen_ai.completion.", "xray.filter.")  # fmt: skip
    unknown = [d for d in documented if d not in values and not d.startswith(prefixes)]
    assert unknown == []
