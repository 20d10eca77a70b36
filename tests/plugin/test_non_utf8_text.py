"""Text that is not valid UTF-8 (lone surrogates, as ``os.fsdecode`` gives for a Latin-1 file
name) reaches every place users keep: baselines, the run database, the report, exports.

Each channel a surrogate can come through has its test: values recorded by the pipeline, a
failure message, and test node ids (a parametrize id, a directory name). Each run must behave as
with plain text (the test passes or fails normally) and leave every artefact readable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from xray_core import SQLiteStore

NAME = os.fsdecode(b"caf\xe9.txt")  # "caf\udce9.txt" on a UTF-8 system
ESCAPED = "caf\\udce9.txt"  # how X-Ray keeps it
IN_JSON = json.dumps(ESCAPED)[1:-1]  # how it reads inside a JSON document: caf\\udce9.txt

RECORDING = """
import os
import pytest
import xray_core as xc

NAME = os.fsdecode(b"caf\\xe9.txt")


def read_catalog():
    with xc.trace("import " + NAME, metadata={"file": NAME, NAME: "as a key"}) as trace:
        with trace.step("read " + NAME, input={"path": NAME, "paths": [NAME, "plain.txt"]}) as step:
            step.set_output({NAME: NAME})
            step.set_reasoning("read " + NAME)
            step.add_evaluation(NAME, item_data={"file": NAME},
                                filters=[{"name": NAME, "passed": False, "detail": NAME}],
                                qualified=False, reasoning="unreadable " + NAME)
            step.add_llm_metadata(model="m-" + NAME, prompt=NAME)
            step.set_metadata({"source": NAME})
        try:
            with trace.step("open"):
                raise OSError("cannot read " + NAME)
        except OSError:
            pass
"""

VALUES_TEST = RECORDING + """

def test_values(xray):
    read_catalog()
    assert xray.trace.metadata["file"] == "caf\\\\udce9.txt"
    xray.assert_baseline()
"""

FAILING_TEST = RECORDING + """

def test_fails_with_a_surrogate_message(xray):
    read_catalog()
    assert False, "cannot open " + NAME
"""

PARAM_TEST = RECORDING + """

@pytest.mark.parametrize("name", [NAME], ids=[NAME])
def test_param(xray, name):
    read_catalog()
    xray.assert_baseline()
"""

#: pytest's own cache writes node ids to a UTF-8 file and fails on these (not X-Ray's to fix)
NO_CACHE = ("-p", "no:cacheprovider")

NO_ESCAPING = """
[pytest]
disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true
"""


def xray_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real ``xray`` command, as a subprocess of this Python."""
    return subprocess.run(
        [sys.executable, "-m", "xray_core.cli", *map(str, args)],
        cwd=cwd, capture_output=True, encoding="utf-8", errors="surrogateescape", timeout=120,
        check=False,
    )  # fmt: skip


def utf8_json(path: Path) -> object:
    """The JSON document of ``path``, which must be non-empty valid UTF-8."""
    data = path.read_bytes()
    assert data, f"{path} is empty"
    return json.loads(data.decode("utf-8"))


def check_history(where: Path, db: Path, *, outcome: str) -> None:
    """The DB kept the run and its traces; `xray report`, `export` and `import` all work."""
    store = SQLiteStore(db, strict=True)
    try:
        [run] = store.list_runs()
        tests = store.run_tests(run.run_id)
        traces = store.list_traces(None, run_id=run.run_id)
    finally:
        store.close()
    assert [t["outcome"] for t in tests] == [outcome]
    assert [t.name for t in traces] == ["import " + ESCAPED]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    report = xray_cli("report", run.run_id, "--db", db, "-o", where / "cli.html", cwd=where)
    assert report.returncode == 0, report.stderr
    assert IN_JSON in (where / "cli.html").read_text(encoding="utf-8")
    exported = where / "run.jsonl"
    export = xray_cli("export", run.run_id, "--db", db, "-o", exported, cwd=where)
    assert export.returncode == 0, export.stderr
    lines = exported.read_bytes().decode("utf-8").splitlines()
    assert all(json.loads(line) is not None for line in lines)
    imported = xray_cli("import", exported, "--db", where / "copy.db", cwd=where)
    assert imported.returncode == 0, imported.stderr
    copy = SQLiteStore(where / "copy.db", strict=True)
    try:
        assert [t.name for t in copy.list_traces(None, run_id=run.run_id)] == [
            "import " + ESCAPED
        ]
    finally:
        copy.close()


def check_trace(trace: dict[str, object]) -> None:
    """A recorded trace (as JSON) kept every surrogate as escape text, in every field."""
    text = json.dumps(trace, ensure_ascii=False)
    text.encode("utf-8")  # raises on a surrogate left as is
    assert text.count("caf\\\\udce9") >= 15  # names, keys, values, reasoning, llm, error


def test_recorded_values_reach_the_baseline_db_report_and_exports(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_values=VALUES_TEST)
    written = pytester.runpytest("--xray-update")
    written.assert_outcomes(passed=1)
    [baseline] = (pytester.path / "__xray_baselines__").iterdir()
    document = utf8_json(baseline)
    assert isinstance(document, dict)
    [trace] = document["traces"]
    check_trace(trace)
    assert json.dumps("import " + ESCAPED) in baseline.read_text(encoding="utf-8")

    checked = pytester.runpytest("--xray-db=runs.db", "--xray-report=report.html")
    checked.assert_outcomes(passed=1)
    checked.stdout.fnmatch_lines(["*1 passed*"])
    assert IN_JSON in (pytester.path / "report.html").read_text(encoding="utf-8")
    check_history(pytester.path, pytester.path / "runs.db", outcome="passed")


def test_recorded_values_under_pytest_xdist(pytester: pytest.Pytester) -> None:
    # (a failure message or node id with a surrogate cannot cross to the xdist controller at
    # all: execnet refuses to send it, before X-Ray sees it)
    pytester.makepyfile(test_values=VALUES_TEST)
    pytester.runpytest("-n", "2", "--xray-update").assert_outcomes(passed=1)
    [baseline] = (pytester.path / "__xray_baselines__").iterdir()
    check_trace(utf8_json(baseline)["traces"][0])  # type: ignore[index]
    result = pytester.runpytest("-n", "2", "--xray-db=runs.db", "--xray-report=report.html")
    result.assert_outcomes(passed=1)
    assert IN_JSON in (pytester.path / "report.html").read_text(encoding="utf-8")
    check_history(pytester.path, pytester.path / "runs.db", outcome="passed")


def test_a_failure_message_with_a_surrogate_fails_the_test_normally(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_fails=FAILING_TEST)
    result = pytester.runpytest("--xray-db=runs.db", "--xray-report=report.html")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 failed*"])
    assert "PydanticSerializationError" not in result.stdout.str()
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "cannot open " + IN_JSON in html  # the message, inside the embedded JSON
    check_history(pytester.path, pytester.path / "runs.db", outcome="failed")
    store = SQLiteStore(pytester.path / "runs.db", strict=True)
    try:
        [test] = store.run_tests(store.list_runs()[0].run_id)
    finally:
        store.close()
    assert "cannot open " + ESCAPED in test["message"]


def test_a_parametrize_id_with_a_surrogate(pytester: pytest.Pytester) -> None:
    pytester.makeini(NO_ESCAPING)
    pytester.makepyfile(test_ids=PARAM_TEST)
    stale = pytester.path / "__xray_baselines__" / "test_ids.test_gone.json"
    stale.parent.mkdir()
    stale.write_text('{"format": 1, "traces": []}\n', encoding="utf-8")
    written = pytester.runpytest(*NO_CACHE, "--xray-update")
    written.assert_outcomes(passed=1)
    assert not stale.exists()  # every test ran (its id matched): unused files are deleted
    [baseline] = (pytester.path / "__xray_baselines__").iterdir()
    check_trace(utf8_json(baseline)["traces"][0])  # type: ignore[index]

    result = pytester.runpytest(*NO_CACHE, "--xray-db=runs.db", "--xray-report=report.html")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "report.html").is_file()
    check_history(pytester.path, pytester.path / "runs.db", outcome="passed")
    store = SQLiteStore(pytester.path / "runs.db", strict=True)
    try:
        [test] = store.run_tests(store.list_runs()[0].run_id)
    finally:
        store.close()
    assert test["test_id"] == f"test_ids.py::test_param[{ESCAPED}]"


def test_a_directory_name_that_is_not_utf8(pytester: pytest.Pytester) -> None:
    directory = pytester.path / os.fsdecode(b"tests-\xe9")
    directory.mkdir()
    (directory / "test_dir.py").write_text(VALUES_TEST, encoding="utf-8")
    written = pytester.runpytest(*NO_CACHE, "--xray-update")
    written.assert_outcomes(passed=1)
    [baseline] = (directory / "__xray_baselines__").iterdir()
    check_trace(utf8_json(baseline)["traces"][0])  # type: ignore[index]

    result = pytester.runpytest(*NO_CACHE, "--xray-db=runs.db", "--xray-report=report.html")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "report.html").is_file()
    check_history(pytester.path, pytester.path / "runs.db", outcome="passed")
    store = SQLiteStore(pytester.path / "runs.db", strict=True)
    try:
        [test] = store.run_tests(store.list_runs()[0].run_id)
    finally:
        store.close()
    assert test["test_id"] == "tests-\\udce9/test_dir.py::test_values"

    changed = VALUES_TEST.replace('set_output({NAME: NAME})', 'set_output("changed")')
    (directory / "test_dir.py").write_text(changed, encoding="utf-8")
    # A real process, its output read as bytes: the command to accept the change names the
    # real directory (byte \xe9), not its escaped test id, so it can be pasted.
    failed = subprocess.run([sys.executable, "-m", "pytest", *NO_CACHE], cwd=pytester.path,
                            capture_output=True, timeout=120, check=False)  # fmt: skip
    assert failed.returncode == pytest.ExitCode.TESTS_FAILED, failed.stdout
    [summary] = [line for line in failed.stdout.splitlines() if line.startswith(b"Next:")]
    assert summary.endswith(b"with: pytest --xray-update 'tests-\xe9/test_dir.py::test_values'")


def test_a_rootdir_arguments_and_branch_that_are_not_utf8(pytester: pytest.Pytester) -> None:
    # the project's folder, the test path on the command line and the git branch: the report's
    # title and the run's command line and branch hold them
    root = pytester.path / os.fsdecode(b"project-\xe9")
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "tests" / "test_root.py").write_text(VALUES_TEST, encoding="utf-8")
    git = ["git", "-c", "user.email=x@example.com", "-c", "user.name=x"]
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"],
                 ["checkout", "-q", "-b", os.fsdecode(b"caf\xe9")]):  # a branch, not UTF-8
        subprocess.run([*git, *args], cwd=root, check=True)
    result = pytester.runpytest(
        *NO_CACHE, "--rootdir", root, root / "tests" / "test_root.py",
        "--xray-update", "--xray-db", root / "runs.db", "--xray-report", root / "report.html",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "<title>X-Ray report: project-\\udce9</title>" in html
    store = SQLiteStore(root / "runs.db", strict=True)
    try:
        [run] = store.list_runs()
    finally:
        store.close()
    assert "project-\\udce9/tests/test_root.py" in run.command
    assert run.git_branch == "caf\\udce9"
    check_history(root, root / "runs.db", outcome="passed")
    titled = xray_cli("report", "--db", root / "runs.db", "-o", root / "titled.html",
                      "--title", os.fsdecode(b"caf\xe9"), cwd=root)  # fmt: skip
    assert titled.returncode == 0, titled.stderr
    assert "<title>caf\\udce9</title>" in (root / "titled.html").read_text(encoding="utf-8")
