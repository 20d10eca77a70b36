"""A baseline or a report that cannot be written completely leaves the previous file intact.

The failure is real: the inner pytest runs with a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ
ignored), so the disk refuses bytes half way through the file, as a full disk would.
"""

from __future__ import annotations

import pytest

pytest.importorskip("resource")

LIMIT = 64_000  # above pytest's own output, below the files written here

LIMITED = f"""
import resource, signal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
"""

TEST = """
from pipeline import select

def test_big(xray):
    select(list(range(FIRST, 400)))
    xray.assert_baseline()
"""


def test_a_baseline_write_failing_half_way_keeps_the_reviewed_file(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_big=TEST.replace("FIRST", "0"))
    project.runpytest("--xray-update").assert_outcomes(passed=1)
    root = project.path / "__xray_baselines__"
    reviewed = (root / "test_big.test_big.json").read_bytes()
    assert len(reviewed) > 3 * LIMIT
    project.makepyfile(test_big=TEST.replace("FIRST", "1"))  # a change: the file is rewritten
    project.makeconftest(LIMITED)
    result = project.runpytest_subprocess("--xray-update", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "E       Failed: cannot write baseline __xray_baselines__/test_big.test_big.json: "
                "File too large (the previous file is unchanged)"
            ),
            "1 baseline: 1 error",
        ]
    )
    assert (root / "test_big.test_big.json").read_bytes() == reviewed
    assert [p.name for p in root.iterdir()] == ["test_big.test_big.json"], "no temporary left"


def test_a_report_write_failing_half_way_keeps_the_previous_report(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_big=TEST.replace("FIRST", "0").replace("xray.assert_baseline()", ""))
    project.runpytest("--xray-report=out/r.html").assert_outcomes(passed=1)
    previous = (project.path / "out" / "r.html").read_bytes()
    assert len(previous) > 2 * LIMIT
    project.makeconftest(LIMITED)
    result = project.runpytest_subprocess("--xray-report=out/r.html", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["error: the report was not written to *r.html: *File too large"])
    assert result.ret == 1
    assert (project.path / "out" / "r.html").read_bytes() == previous
    assert [p.name for p in (project.path / "out").iterdir()] == ["r.html"]
