"""``--xray-update``: write what changed; list unused baselines; delete them only on a full run."""

from __future__ import annotations

import pytest

TESTS = """
from pipeline import select

def test_keep(xray):
    select([5, 20])
    xray.assert_baseline()

def test_drop(xray):
    select([20])
    xray.assert_baseline()
"""


@pytest.fixture
def updated(project: pytest.Pytester) -> pytest.Pytester:
    """A project whose two tests have baselines, then test_drop stops using its baseline."""
    project.makepyfile(test_u=TESTS)
    project.runpytest("--xray-update").assert_outcomes(passed=2)
    project.makepyfile(
        test_u=TESTS.replace("    xray.assert_baseline()\n", "", 2).replace(
            "select([5, 20])", "select([5, 20])\n    xray.assert_baseline()"
        )
    )
    return project


def baselines(pytester: pytest.Pytester) -> list[str]:
    root = pytester.path / "__xray_baselines__"
    return sorted(p.name for p in root.glob("*.json"))


def test_unused_is_reported_then_deleted(updated: pytest.Pytester) -> None:
    result = updated.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "1 unused baseline:",
            "  __xray_baselines__/test_u.test_drop.json",
            "Next: re-run pytest with --xray-update to delete the unused baselines.",
        ]
    )
    assert result.ret == 0
    deleted = updated.runpytest("--xray-update")
    deleted.stdout.fnmatch_lines(
        ["1 unused baseline deleted:", "  __xray_baselines__/test_u.test_drop.json"]
    )
    assert baselines(updated) == ["test_u.test_keep.json"]


def test_removed_test_and_removed_module(updated: pytest.Pytester) -> None:
    updated.makepyfile(test_gone=TESTS)
    updated.runpytest("--xray-update", "test_gone.py").assert_outcomes(passed=2)
    (updated.path / "test_gone.py").unlink()
    updated.makepyfile(test_u=TESTS.split("def test_drop")[0])
    result = updated.runpytest("--xray-update")
    result.stdout.fnmatch_lines(["3 unused baselines deleted:"])
    assert baselines(updated) == ["test_u.test_keep.json"]
    assert not list((updated.path / "__xray_baselines__").glob("test_gone.*"))


@pytest.mark.parametrize("selection", [["-k", "keep"], ["test_u.py::test_keep"]])
def test_subset_never_deletes(updated: pytest.Pytester, selection: list[str]) -> None:
    updated.makepyfile(test_u=TESTS.split("def test_drop")[0] + "def test_drop():\n    pass\n")
    result = updated.runpytest("--xray-update", *selection)
    result.assert_outcomes(passed=1)
    assert "unused" not in result.stdout.str()
    assert baselines(updated) == ["test_u.test_drop.json", "test_u.test_keep.json"]


def test_unused_of_a_ran_test_is_reported_but_kept_on_a_subset(updated: pytest.Pytester) -> None:
    result = updated.runpytest("--xray-update", "test_u.py::test_drop")
    result.stdout.fnmatch_lines(
        [
            "1 unused baseline:",
            "*test_drop.json",
            "Next: run the whole suite with --xray-update to delete unused baselines.",
        ]
    )
    assert "test_u.test_drop.json" in baselines(updated)


def test_failed_and_skipped_tests_keep_their_baselines(updated: pytest.Pytester) -> None:
    updated.makepyfile(
        test_u="""
        import pytest

        def test_keep():
            assert False

        @pytest.mark.skip
        def test_drop():
            pass
        """
    )
    result = updated.runpytest("--xray-update")
    result.assert_outcomes(failed=1, skipped=1)
    assert "unused" not in result.stdout.str()
    assert len(baselines(updated)) == 2


def test_ini_twin(updated: pytest.Pytester) -> None:
    updated.makeini("[pytest]\nxray_update = true\n")
    updated.runpytest().stdout.fnmatch_lines(["1 unused baseline deleted:"])


def test_baselines_of_a_directory_whose_modules_are_all_gone(project: pytest.Pytester) -> None:
    project.syspathinsert()  # pipeline.py stays importable from the subdirectories
    for name in ("kept", "gone"):
        (project.path / name).mkdir()
        (project.path / name / f"test_{name}.py").write_text(TESTS.split("def test_drop")[0])
    project.runpytest("--xray-update").assert_outcomes(passed=2)
    (project.path / "gone" / "test_gone.py").unlink()
    reported = project.runpytest()
    reported.stdout.fnmatch_lines(
        ["1 unused baseline:", "  gone/__xray_baselines__/test_gone.test_keep.json"]
    )
    project.runpytest("--xray-update").stdout.fnmatch_lines(["1 unused baseline deleted:"])
    assert not (project.path / "gone" / "__xray_baselines__").exists()
