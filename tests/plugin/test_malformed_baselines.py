"""A malformed baseline fails only its test, says what is wrong, and the advised command fixes it.

Each case breaks the baseline of ``test_pick`` while ``test_other`` keeps a good one; the plain
run fails ``test_pick`` alone with a message naming the file, and running the command the
message advises, then the plain run again, passes.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

TESTS = """
from pipeline import select

def test_pick(xray):
    select([5, 20])
    xray.assert_baseline()

def test_other(xray):
    select([30])
    xray.assert_baseline()
"""

BAD = "__xray_baselines__/test_m.test_pick.json"

STEP = {"key": "filter_and_select", "status": "completed"}
FILTER = {"qualified": False, "filters": {"price": {"passed": "no"}}}
DEEP = json.loads("[" * 300 + "]" * 300)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


CASES = {
    "a JSON list": (_json([1, 2]), "holds a list, not a baseline object"),
    "no format": (_json({"traces": []}), "has no 'format' field"),
    "format is text": (
        _json({"format": "1", "traces": []}),
        "has 'format' '1', not a format number",
    ),
    "traces not a list": (_json({"format": 1, "traces": {}}), "has an object as 'traces'"),
    "a step with no key": (
        _json({"format": 1, "traces": [{"name": "selection", "steps": [{"status": "completed"}]}]}),
        "has no 'key' at traces[0].steps[0]",
    ),
    "evaluations as a list": (
        _json({"format": 1, "traces": [{"steps": [{**STEP, "evaluations": []}]}]}),
        "has a list at traces[0].steps[0].evaluations, expected an object",
    ),
    "a filter outcome as text": (
        _json({"format": 1, "traces": [{"steps": [{**STEP, "evaluations": {"B0": FILTER}}]}]}),
        "has a string at traces[0].steps[0].evaluations.B0.filters.price.passed, expected a boolean",
    ),
    "not UTF-8": (
        b'{"format": 1, "traces": [{"name": "caf\xe9"}]}',
        "is not UTF-8 text (byte 0xe9",
    ),
    "nested 100k deep": (
        b'{"format": 1, "traces": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        "is nested too deeply to read",
    ),
    "nested 300 deep": (
        _json({"format": 1, "traces": [{"steps": [], "metadata": {"x": DEEP}}]}),
        "is nested more than 200 levels deep",
    ),
    "not JSON": (b"not json", "is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    "empty": (b"", "is not valid JSON"),
}


@pytest.fixture
def reviewed(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(test_m=TESTS)
    project.runpytest("--xray-update").assert_outcomes(passed=2)
    return project


def advised_command(output: str, prefix: str) -> list[str]:
    """The pytest arguments of the ``pytest --xray-update ...`` command the message advises."""
    [line] = [ln for ln in output.splitlines() if ln.startswith("E ") and prefix in ln]
    command = shlex.split(line.split(prefix, 1)[1])
    assert command[:2] == ["pytest", "--xray-update"]
    return command[1:]


def fails_only_test_pick(project: pytest.Pytester, problem: str) -> str:
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["FAILED test_m.py::test_pick - *"])
    output = result.stdout.str()
    assert f"\nE       Failed: baseline {BAD} {problem}" in output  # (brackets: no fnmatch)
    return output


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_file_fails_its_test_and_the_advised_command_repairs_it(
    reviewed: pytest.Pytester, case: str
) -> None:
    content, problem = CASES[case]
    (reviewed.path / BAD).write_bytes(content)
    output = fails_only_test_pick(reviewed, problem)
    repair = reviewed.runpytest(*advised_command(output, "Rewrite it with: "))
    repair.assert_outcomes(passed=1)
    repair.stdout.fnmatch_lines(["1 baseline: 1 written"])
    reviewed.runpytest().assert_outcomes(passed=2)


def test_an_empty_directory_in_the_files_place_is_replaced(reviewed: pytest.Pytester) -> None:
    path = reviewed.path / BAD
    path.unlink()
    path.mkdir()
    output = fails_only_test_pick(reviewed, "is a directory, not a file")
    reviewed.runpytest(*advised_command(output, "Rewrite it with: ")).assert_outcomes(passed=1)
    assert path.is_file()
    reviewed.runpytest().assert_outcomes(passed=2)


def test_a_directory_holding_files_is_never_deleted(reviewed: pytest.Pytester) -> None:
    path = reviewed.path / BAD
    path.unlink()
    path.mkdir()
    (path / "notes.txt").write_text("someone's work")
    output = fails_only_test_pick(reviewed, "is a directory, not a file")
    assert "Remove that directory (--xray-update never deletes a directory holding files)" in output
    command = advised_command(output, "then create the baseline with: ")
    refused = reviewed.runpytest(*command)
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines([f"E       Failed: baseline {BAD} is a directory, not a file."])
    assert (path / "notes.txt").read_text() == "someone's work"
    shutil.rmtree(path)  # what the message asks the user to do
    reviewed.runpytest(*command).assert_outcomes(passed=1)
    reviewed.runpytest().assert_outcomes(passed=2)


def test_a_newer_format_is_refused_and_never_rewritten(reviewed: pytest.Pytester) -> None:
    path = reviewed.path / BAD
    newer = json.loads(path.read_text())
    newer["format"] = 2
    newer["traces"][0]["something_new"] = {"kept": True}
    path.write_text(json.dumps(newer, indent=2))
    before = path.read_bytes()
    output = fails_only_test_pick(
        reviewed, "has format 2, newer than this version of decisiontracex reads (format 1)"
    )
    assert "upgrade decisiontracex" in output
    command = advised_command(output, "delete the file and re-create it with: ")
    for run in (reviewed.runpytest(*command), reviewed.runpytest("--xray-update")):
        run.stdout.fnmatch_lines(
            [
                f"E       Failed: baseline {BAD} has format 2, newer than *",
                "E       It is not read, and --xray-update does not overwrite it: *",
            ]
        )
        assert path.read_bytes() == before, "a newer baseline is never rewritten"
    path.unlink()  # what the message asks the user to do (or upgrade)
    reviewed.runpytest(*command).assert_outcomes(passed=1)
    reviewed.runpytest().assert_outcomes(passed=2)


def test_format_is_checked_on_load(reviewed: pytest.Pytester) -> None:
    path: Path = reviewed.path / BAD
    stored = json.loads(path.read_text())
    assert stored["format"] == 1
    stored["format"] = 0
    path.write_text(json.dumps(stored))
    fails_only_test_pick(reviewed, "has 'format' 0, not a format number (expected 1)")
