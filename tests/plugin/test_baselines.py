"""Part 4: the baseline lifecycle, file naming and content, ``name=`` and ``ignore=``."""

from __future__ import annotations

import json

import pytest

TEST = """
from pipeline import select

def test_pick(xray):
    select([5, 20])
    xray.assert_baseline()
"""


def baseline_file(pytester: pytest.Pytester, module: str, stem: str):
    return pytester.path / "__xray_baselines__" / f"{module}.{stem}.json"


def test_lifecycle(project: pytest.Pytester) -> None:
    project.makepyfile(test_life=TEST)
    path = baseline_file(project, "test_life", "test_pick")

    missing = project.runpytest()
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(
        [
            "E       Failed: no baseline __xray_baselines__/test_life.test_pick.json for this test yet.",
            "E       Create it with: pytest --xray-update test_life.py::test_pick",
            "1 baseline: 1 missing",
            "Next: create the missing baselines with: pytest --xray-update test_life.py::test_pick",
        ]
    )
    assert not path.exists()

    written = project.runpytest("--xray-update")
    written.assert_outcomes(passed=1)
    written.stdout.fnmatch_lines(["1 baseline: 1 written"])
    content = json.loads(path.read_text())
    assert content["format"] == 1
    [trace] = content["traces"]
    assert trace["steps"][1]["evaluations"]["B0"]["qualified"] is False
    text = path.read_text()
    assert text.endswith("}\n") and "trace_id" not in text and "duration_ms" not in text

    project.runpytest().assert_outcomes(passed=1)
    mtime = path.stat().st_mtime_ns
    unchanged = project.runpytest("--xray-update")
    unchanged.stdout.fnmatch_lines(["1 baseline: 1 passed"])
    assert path.stat().st_mtime_ns == mtime, "an unchanged baseline is not rewritten"

    project.makepyfile(test_life=TEST.replace("[5, 20]", "[15, 20]"))
    flipped = project.runpytest()
    flipped.assert_outcomes(failed=1)
    flipped.stdout.fnmatch_lines(
        [
            "E       Failed: decisions differ from the baseline __xray_baselines__/test_life.test_pick.json:",
            "E       trace 'selection': * change(s)",
            "E         B0: rejected by price -> qualified (price: * (failed) -> * (passed)) *",
            (
                "E       If the new decisions are right, accept them with: "
                "pytest --xray-update test_life.py::test_pick"
            ),
            "1 baseline: 1 failed",
        ]
    )
    assert "+++" not in flipped.stdout.str(), "a semantic diff, not a text diff"

    path.write_text('{"format": 1, "traces": [')
    corrupt = project.runpytest()
    corrupt.assert_outcomes(failed=1)
    corrupt.stdout.fnmatch_lines(
        [
            (
                "E       Failed: baseline __xray_baselines__/test_life.test_pick.json is not valid "
                "JSON: Expecting value: line 1 column 26 (char 25)"
            ),
            "1 baseline: 1 error",
        ]
    )
    path.write_text('{"steps": []}')
    project.runpytest().stdout.fnmatch_lines(["*test_pick.json has no 'format' field*"])


def test_corrupt_file_fails_only_its_test(project: pytest.Pytester) -> None:
    project.makepyfile(test_two=TEST + TEST.replace("test_pick", "test_other"))
    project.runpytest("--xray-update").assert_outcomes(passed=2)
    baseline_file(project, "test_two", "test_pick").write_text("not json")
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=1)


def test_names_parametrize_and_classes(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_names="""
        import pytest
        from pipeline import select

        @pytest.mark.parametrize("prices", [[5], [20]], ids=["cheap/one", "ok"])
        def test_param(xray, prices):
            select(prices)
            xray.assert_baseline()

        class TestGroup:
            def test_named(self, xray):
                with xray.capture() as first:
                    select([5])
                with xray.capture() as second:
                    select([30])
                first.assert_baseline(name="first")
                second.assert_baseline(name="second run")
        """
    )
    project.runpytest("--xray-update").assert_outcomes(passed=3)
    names = sorted(p.name for p in (project.path / "__xray_baselines__").iterdir())
    assert names[0] == "test_names.TestGroup.test_named.first.json"
    assert names[1].startswith("test_names.TestGroup.test_named.second_run-")
    assert names[2].startswith("test_names.test_param[cheap_one-")
    assert names[3] == "test_names.test_param[ok].json"
    project.runpytest().assert_outcomes(passed=3)


def test_ignore_removes_paths_from_the_file_and_the_comparison(project: pytest.Pytester) -> None:
    source = """
    from pipeline import select

    def test_pick(xray):
        select([5, PRICE])
        xray.assert_baseline(ignore=["*.item_data.price", "*.detail", "filter_and_select.input",
                                     "trace.metadata.count"])
    """
    project.makepyfile(test_ign=source.replace("PRICE", "20"))
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    text = baseline_file(project, "test_ign", "test_pick").read_text()
    assert '"price": 20' not in text and "detail" not in text and '"count"' not in text
    assert '"input"' in text and '"prices"' not in text
    project.makepyfile(test_ign=source.replace("PRICE", "25"))
    project.runpytest().assert_outcomes(passed=1)
    project.makepyfile(test_ign=source.replace("PRICE", "55"))
    project.runpytest().assert_outcomes(failed=1)


def test_llm_drift_and_reasoning_do_not_fail(project: pytest.Pytester) -> None:
    project.makepyfile(test_drift=TEST)
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    pipeline = project.path / "pipeline.py"
    pipeline.write_text(
        pipeline.read_text()
        .replace("tokens_used=42", "tokens_used=77")
        .replace('"in range"', '"within range"')
    )
    project.runpytest().assert_outcomes(passed=1)


def test_no_trace_is_an_error_not_an_empty_baseline(project: pytest.Pytester) -> None:
    project.makepyfile(test_empty="def test_nothing(xray):\n    xray.assert_baseline()\n")
    result = project.runpytest("--xray-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*recorded no trace*"])
    assert not (project.path / "__xray_baselines__").exists()


def test_the_same_baseline_twice_in_one_test_is_an_error(project: pytest.Pytester) -> None:
    # Without the error, --xray-update keeps only the last call's traces and the next run fails.
    project.makepyfile(
        test_loop="""
        from pipeline import select

        def test_loop(xray):
            for prices in ([5, 20], [20, 30]):
                with xray.capture() as cap:
                    select(prices)
                cap.assert_baseline()
        """
    )
    result = project.runpytest("--xray-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">*cap.assert_baseline()",
            (
                "E*Failed: assert_baseline() already checked "
                "__xray_baselines__/test_loop.test_loop.json in this test; "
                'give each call its own name=, e.g. assert_baseline(name="second")'
            ),
        ]
    )


def test_a_rerun_test_sees_only_its_last_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_rerun=TEST)
    project.makeconftest(
        """
        import pytest
        from _pytest.runner import runtestprotocol

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(item, nextitem):
            for _ in range(2):  # what pytest-rerunfailures does
                runtestprotocol(item, nextitem=nextitem)
            return True
        """
    )
    result = project.runpytest("--xray-update")
    result.stdout.fnmatch_lines(["1 trace captured in 1 test", "1 baseline: 1 passed"])
    stored = json.loads(baseline_file(project, "test_rerun", "test_pick").read_text())
    assert len(stored["traces"]) == 1


def test_commands_and_paths_work_from_the_directory_pytest_ran_in(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini("[pytest]\n")  # the rootdir stays the project, pytest runs from tests/
    (project.path / "tests").mkdir()
    (project.path / "tests" / "test_sub.py").write_text(TEST)
    (project.path / "pipeline.py").rename(project.path / "tests" / "pipeline.py")
    monkeypatch.chdir(project.path / "tests")
    result = project.runpytest("--xray-report=r.html")
    result.stdout.fnmatch_lines(
        [
            "E       Failed: no baseline __xray_baselines__/test_sub.test_pick.json for this test yet.",
            "E       Create it with: pytest --xray-update test_sub.py::test_pick",
            "report: r.html",
            "Next: create the missing baselines with: pytest --xray-update test_sub.py::test_pick",
        ]
    )
    project.runpytest("--xray-update", "test_sub.py::test_pick").assert_outcomes(passed=1)


def test_a_file_name_too_long_for_the_file_system_is_a_clear_error(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_long="""
        import pytest
        from pipeline import select

        PROMPT = "Pick the best-reviewed bottle for me " * 8

        # The id is stated: pytest's automatic id of a long string differs between versions.
        @pytest.mark.parametrize("prompt", [PROMPT], ids=[PROMPT])
        def test_prompt(xray, prompt):
            select([5])
            xray.assert_baseline()
        """
    )
    result = project.runpytest("--xray-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "E       Failed: the baseline file name of this test would be 3* bytes, more than "
                "file systems allow (255): give the test a shorter id, e.g. "
                'pytest.param(..., id="short"), or a shorter name='
            ),
        ]
    )
    assert "OSError" not in result.stdout.str()


def test_text_is_stored_readable_not_escaped(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_utf8="""
        from pipeline import select

        def test_pick(xray):
            select([20], name="bouteille élégante 水筒")
            xray.assert_baseline()
        """
    )
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    text = baseline_file(project, "test_utf8", "test_pick").read_text(encoding="utf-8")
    assert '"name": "bouteille élégante 水筒"' in text
    project.runpytest().assert_outcomes(passed=1)


def test_ignore_given_as_one_string_is_one_pattern(project: pytest.Pytester) -> None:
    # list("*.detail") would be ["*", ".", "d", ...], and "*" ignores everything.
    project.makepyfile(
        test_str=TEST.replace("assert_baseline()", 'assert_baseline(ignore="*.detail")')
    )
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    stored = baseline_file(project, "test_str", "test_pick").read_text()
    assert '"selected": "B1"' in stored and '"detail"' not in stored
    project.makepyfile(
        test_str=TEST.replace("[5, 20]", "[15, 20]").replace(
            "assert_baseline()", 'assert_baseline(ignore="*.detail")'
        )
    )
    project.runpytest().stdout.fnmatch_lines(["*B0: rejected by price -> qualified*"])


def test_ignore_that_is_not_patterns_is_refused_as_diff_traces_refuses_it(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_bad=TEST.replace("assert_baseline()", 'assert_baseline(ignore=["*.detail", 1])')
    )
    result = project.runpytest("--xray-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [">*xray.assert_baseline(ignore=*", "E       TypeError: ignore patterns must be strings, got 1 (int)"]
    )
    assert not (project.path / "__xray_baselines__").exists()
