"""docs/ci.md: the job-summary script runs on a real JUnit file, and its examples hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
SCRIPT = re.compile(r"<!-- ci-summary: (\S+) -->\n```python\n(.*?)```", re.DOTALL)

TESTS = """
from pipeline import select

def test_pick(xray):
    select([5, 20, 30])
    xray.assert_baseline()

def test_plain():
    pass
"""


def test_the_summary_script_lists_verdicts_flips_and_links(project: pytest.Pytester) -> None:
    ((name, code),) = SCRIPT.findall(DOC.read_text(encoding="utf-8"))
    script = project.path / name
    script.write_text(code, encoding="utf-8")
    project.makepyfile(test_s=TESTS)
    project.runpytest_subprocess("-p", "no:cacheprovider", "--xray-update").assert_outcomes(
        passed=2)  # fmt: skip
    project.makepyfile(test_s=TESTS.replace("[5, 20, 30]", "[5, 20, 50]"))
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--junitxml=junit-1.xml", "--xray-report=xray.html"
    )
    result.assert_outcomes(passed=1, failed=1)
    done = subprocess.run([sys.executable, str(script), "junit-1.xml"], cwd=project.path,
                          capture_output=True, text=True, check=True)  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[:2] == ["| test | baseline | flipped decisions | trace |", "|---|---|---|---|"]
    (row,) = lines[2:]  # test_plain saw no trace: no row
    assert row.startswith("| `test_s::test_pick` | failed | B2: qualified -> rejected by price")
    assert re.search(r"\| \[open\]\(xray\.html#trace=[0-9a-f]{32}\) \|$", row), row


def test_the_documented_option_and_variable_exist(pytester: pytest.Pytester) -> None:
    text = DOC.read_text(encoding="utf-8")
    help_text = pytester.runpytest("--help").stdout.str()
    assert "--xray-run-id=ID" in help_text and "XRAY_RUN_ID" in help_text
    for name in ("xray.trace_ids", "xray.baseline", "xray.flipped", "xray.report"):
        assert f"`{name}`" in text
