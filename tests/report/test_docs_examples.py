"""The examples of docs/report.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .test_render import payload_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def block_with(text: str) -> str:
    (block,) = [b for b in python_blocks() if text in b]
    return block


def test_python_example_writes_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(python_blocks()[0], str(DOC), "exec"), {})  # noqa: S102 - our own docs
    payload = payload_of((tmp_path / "reports" / "example.html").read_text(encoding="utf-8"))
    (trace,) = payload["traces"]
    assert trace["test"] == "tests/test_x.py::test_a" and trace["rejected"] == 1


def test_panel_hook_example(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(block_with("def pytest_xray_report_panel"))
    pytester.makepyfile(test_scores="""
        import xray_core as xray

        def test_scored():
            with xray.trace("scoring", metadata={"scorer": "mock"}) as trace:
                with trace.step("score") as step:
                    step.set_metadata({"scores": {"B2": 0.4, "B1": 0.9}})
    """)  # fmt: skip
    pytester.runpytest("--xray-report=report.html").assert_outcomes(passed=1)
    payload = payload_of((pytester.path / "report.html").read_text(encoding="utf-8"))
    (step,) = payload["traces"][0]["steps"]
    scores, scorer, note = payload["panels"][step["id"]]
    assert scores["rows"] == [{"item": "B1", "score": 0.9}, {"item": "B2", "score": 0.4}]
    assert scorer["data"] == {"model": "mock", "count": 2}
    assert note["text"] == "2 items scored in score"


def test_test_link_example_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    block = block_with("#test=")
    exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 - our own docs
    expected = re.search(r"^# (reports/xray\.html#test=\S+)$", block, re.MULTILINE)
    assert expected is not None and capsys.readouterr().out == expected.group(1) + "\n"


def test_first_failure_line_example_prints_what_it_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    block = block_with("first_failure_line(")
    exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 - our own docs
    expected = re.search(r"^# (AssertionError: .+)$", block, re.MULTILINE)
    assert expected is not None and capsys.readouterr().out == expected.group(1) + "\n"


def test_overview_example_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    block = block_with('build_payload(ReportData(traces=traces))["overview"]')
    exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 - our own docs
    expected = re.findall(r"^# (.+)$", block, re.MULTILINE)
    assert len(expected) == 3 and capsys.readouterr().out.splitlines() == expected
