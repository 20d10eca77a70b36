"""A baseline check reads a reordered ranking as moves (the diff engine baselines share)."""

from __future__ import annotations

import pytest

TEST = """
import xray_core as xc

RANKING = {ranking!r}


def test_rank(xray):
    with xc.trace("ranking"):
        with xc.step("rank") as step:
            step.set_output({{"ranking": RANKING}})
    xray.assert_baseline({ignore})
"""


def write(pytester: pytest.Pytester, ranking: list[str], ignore: str = "") -> None:
    pytester.makepyfile(test_moves=TEST.format(ranking=ranking, ignore=ignore))


def test_a_moved_entry_is_one_line_in_the_baseline_failure(pytester: pytest.Pytester) -> None:
    write(pytester, ["B0A", "B0B", "B0C", "B0D", "B0X"])
    pytester.runpytest("--xray-update").assert_outcomes(passed=1)
    write(pytester, ["B0X", "B0A", "B0B", "B0C", "B0D"])
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       trace 'ranking': 1 change(s)",
        "E         rank.output.ranking: 'B0X' moved #5 -> #1",
    ])  # fmt: skip
    for index in (0, 4):  # the entry's index in the baseline or in this run
        write(pytester, ["B0X", "B0A", "B0B", "B0C", "B0D"],
              ignore=f"ignore=['rank.output.ranking[{index}]']")  # fmt: skip
        pytester.runpytest().assert_outcomes(passed=1)
