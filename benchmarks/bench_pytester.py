"""Suites that run pytest inside pytest, with decisiontracex installed but unused (issue 9).

pytest-xdist's own test suite runs many in-process ``pytester`` sessions with ``-n 2``; this is a
workload of that shape: an outer ``python -m pytest`` process whose tests each run one inline
``pytester.runpytest("-n", "2")`` session of a small module (50 sessions). No ``--xray-*`` option
is given anywhere. ``--quick`` skips it: building the environment takes too long.

"Installed" must mean installed: ``-p no:xray`` is not enough, because every inner session loads
the ``pytest11`` entry points itself. So the benchmark builds its own environment, once per run,
in a temporary folder: a venv holding pytest, pytest-xdist and decisiontracex's dependencies (at
the versions of the running interpreter), and beside it a folder where ``pip install --target``
puts decisiontracex itself, built from this checkout. The two contenders differ only in
``PYTHONPATH``: that folder (**installed**), or an empty one (**not installed**). The variable is
inherited by the xdist workers, so they see the same. Each session checks that the plugin is
loaded, or not, as its contender expects, in the outer process and in the workers.

Measured in rounds where the two contenders run **side by side**, started together (5 rounds):
each meets the same load from the rest of the machine, whose speed here drifts by a fifth and
more between runs made a minute apart, more than the target. Each round gives its own ratio;
the figure is the median of those (and its values the medians of each contender):

- the wall time of the whole outer process (target <= 1.05x);
- the CPU time of all its processes, the outer one and every xdist worker (the same target): what
  the plugin costs them, which a busy machine's wall time can hide or inflate;
- the outer process's peak RSS after the last session (target <= 1.2x): ``VmHWM`` from
  ``/proc/self/status``, logged by the outer suite after each session;
- whether memory grows with the number of sessions: the peak after the last session against the
  peak after the first fifth of them, installed and (for reference) not installed.

Then, for reference, 2 rounds of each contender run alone, one after the other (each first in
one round): the wall and CPU times a user would see, and how far they stray.

Building the environment takes pip 30-60 s (from its cache), on top of the sessions.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from .harness import Figure, check, side_by_side

GROUP = "pytester"
ROOT = Path(__file__).parents[1]
DISTRIBUTION = "decisiontracex"

CONFTEST = 'pytest_plugins = ["pytester"]\n'

OUTER = '''
import os
import resource

import pytest


def peak_rss_kib():
    """This process's peak resident set since it started (VmHWM), in KiB.

    Not ``ru_maxrss`` where /proc is there: on Linux a child starts with its parent's peak as
    its ``ru_maxrss`` (the benchmark's own size would hide the outer session's).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

SESSIONS = {sessions}
RSS_LOG = {rss_log!r}
INSTALLED = os.environ["BENCH_XRAY_INSTALLED"] == "1"
INNER = """
import os

INSTALLED = os.environ["BENCH_XRAY_INSTALLED"] == "1"


def test_plugin_as_expected_in_the_worker(request):
    assert request.config.pluginmanager.has_plugin("xray") is INSTALLED


def test_sum():
    assert sum(range(10)) == 45


def test_sorted():
    assert sorted("pytest") == list("epstty")


def test_strip():
    assert " x ".strip() == "x"
"""


def test_plugin_as_expected_in_the_outer_session(request):
    assert request.config.pluginmanager.has_plugin("xray") is INSTALLED


@pytest.mark.parametrize("session", range(SESSIONS))
def test_inline_xdist_session(pytester, session):
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-n", "2")
    result.assert_outcomes(passed=4)
    with open(RSS_LOG, "a", encoding="utf-8") as log:
        log.write(f"{{peak_rss_kib()}}\\n")
'''


def requirements() -> list[str]:
    """Pinned requirements of the environment: pytest, pytest-xdist and decisiontracex's own."""
    from packaging.requirements import Requirement

    names = {"pytest", "pytest-xdist"}
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.add(requirement.name)
    return sorted(f"{name}=={importlib.metadata.version(name)}" for name in names)


def build_environment(folder: Path) -> tuple[Path, Path]:
    """A venv without decisiontracex, and a folder with decisiontracex installed (``--target``).

    Returns the venv's python and the folder to put on ``PYTHONPATH`` to install the plugin.
    """
    venv, overlay, source = folder / "venv", folder / "installed", folder / "source"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    # built from a copy: pip builds in the source tree, and a checkout left with a
    # decisiontracex.egg-info would have pytest, run from it, rewrite our modules
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "__pycache__", "test-artifacts"))  # fmt: skip
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for command in ([*pip, *requirements()],
                    [*pip, "--no-deps", "--target", str(overlay), str(source)]):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return python, overlay


def write_suite(folder: Path, sessions: int, rss_log: Path) -> Path:
    """The outer suite: one test per inline ``-n 2`` session, logging the peak RSS after each."""
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    source = OUTER.format(sessions=sessions, rss_log=str(rss_log))
    (folder / "test_outer.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def outer_session(python: Path, suite: Path, path: Path, installed: bool, rss_log: Path,
                  sessions: int) -> tuple[float, float, list[int]]:  # fmt: skip
    """Run the outer suite once; its wall time (s), the CPU time of all its processes (s: the
    outer one and every xdist worker it started) and the peak RSS (KiB) after each session.

    The CPU time is what ``wait4`` reports for the outer process, which includes the workers it
    reaped: it holds while another outer suite runs beside this one (see :func:`run`).
    """
    rss_log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("XRAY_DB", "XRAY_ENABLED", "PYTEST_ADDOPTS", "PYTHONPATH")}  # fmt: skip
    env.update(PYTHONPATH=str(path), BENCH_XRAY_INSTALLED="1" if installed else "0")
    command = [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=suite, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        output.seek(0)
        text = output.read()
    cpu = usage.ru_utime + usage.ru_stime
    if process.returncode != 0 or f"{sessions + 1} passed" not in text:
        raise RuntimeError(f"the outer suite failed ({'with' if installed else 'without'} the "
                           f"plugin):\n{text[-5000:]}")  # fmt: skip
    peaks = [int(line) for line in rss_log.read_text(encoding="utf-8").split()]
    if len(peaks) != sessions:
        raise RuntimeError(f"{len(peaks)} peaks logged for {sessions} sessions")
    return elapsed, cpu, peaks


#: one run of the outer suite: wall time (s), CPU time of all its processes (s), peak RSS (KiB)
#: after each inline session
Run = tuple[float, float, list[int]]
#: one figure of a round (both contenders' runs by name)
Measure = Callable[[dict[str, Run]], float]


def run(quick: bool = False) -> list[Figure]:
    """Wall time, CPU time and peak memory, installed vs not installed (see the module
    docstring): judged on rounds where the two contenders run side by side; two rounds where
    they run alone, one after the other, are printed for reference."""
    if quick:  # building the environment alone takes longer than every other quick figure
        return [Figure(GROUP, "not run with --quick: it builds a venv (30-60 s of pip); run "
                       "python -m benchmarks --only pytester", None, "")]  # fmt: skip
    sessions, paired_rounds, alone_rounds = 50, 5, 2
    with tempfile.TemporaryDirectory(prefix="xray-bench-pytester-") as tmp:
        folder = Path(tmp)
        python, overlay = build_environment(folder)
        (folder / "empty").mkdir()
        contenders = {"installed": overlay, "not installed": folder / "empty"}

        def runner(name: str, sessions: int) -> Callable[[], Run]:
            """One contender's outer suite of ``sessions``: its own folder and log, so that
            the two contenders can run at the same time."""
            slug = f"{name.replace(' ', '-')}-{sessions}"
            log = folder / f"rss-{slug}.log"
            suite = write_suite(folder / f"suite-{slug}", sessions, log)
            path = contenders[name]
            return functools.partial(outer_session, python, suite, path, path is overlay, log,
                                     sessions)  # fmt: skip

        for name in contenders:  # byte-compile, fill the OS caches, check the set-up
            runner(name, 2)()
        runs = {name: runner(name, sessions) for name in contenders}
        paired = [side_by_side(runs) for _ in range(paired_rounds)]
        alone: list[dict[str, Run]] = []
        for round_ in range(alone_rounds):  # each contender first in every other round
            order = list(contenders)[:: 1 if round_ % 2 == 0 else -1]
            alone.append({name: runs[name]() for name in order})
    return figures(paired, alone, sessions)


def figures(paired: list[dict[str, Run]], alone: list[dict[str, Run]], sessions: int
            ) -> list[Figure]:  # fmt: skip
    """The figures of :func:`run`'s rounds: medians, and the median of each round's own ratio."""
    early = sessions // 5
    label = f"{sessions} inline pytester -n 2 sessions"

    def figure(what: str, unit: str, rounds: list[dict[str, Run]], mine: Measure,
               theirs: Measure, target: float | None = None,
               peer: str = "same, decisiontracex not installed") -> Figure:  # fmt: skip
        ratio = statistics.median(mine(r) / theirs(r) for r in rounds)
        return Figure(GROUP, f"{label}: {what}", statistics.median(map(mine, rounds)), unit,
                      peer, statistics.median(map(theirs, rounds)),
                      None if target is None else f"<= {target}x",
                      None if target is None else check(ratio, "<=", target), paired=ratio)  # fmt: skip

    def wall(name: str) -> Measure:
        return lambda round_: round_[name][0]

    def cpu(name: str) -> Measure:
        return lambda round_: round_[name][1]

    def peak(name: str, after: int) -> Measure:  # MB, after that many sessions
        return lambda round_: round_[name][2][after - 1] / 1024

    yes, no = "installed", "not installed"
    side = f"side by side, {len(paired)} rounds"
    one_after = f"alone, one after the other, {len(alone)} rounds (reference)"
    after = f"peak RSS after {sessions} sessions"
    return [
        figure(f"wall time, installed, {side}", "s", paired, wall(yes), wall(no), 1.05),
        figure(f"CPU time of every process, installed, {side}", "s", paired, cpu(yes), cpu(no),
               1.05),  # fmt: skip
        figure(f"wall time, installed, {one_after}", "s", alone, wall(yes), wall(no)),
        figure(f"CPU time of every process, installed, {one_after}", "s", alone, cpu(yes),
               cpu(no)),  # fmt: skip
        figure(f"outer {after}, installed", "MB", paired, peak(yes, sessions),
               peak(no, sessions), 1.2),  # fmt: skip
        figure(f"{after}, installed", "MB", paired, peak(yes, sessions), peak(yes, early), 1.05,
               f"after {early} sessions"),  # fmt: skip
        figure(f"{after}, not installed (reference)", "MB", paired, peak(no, sessions),
               peak(no, early), None, f"after {early} sessions"),  # fmt: skip
    ]
