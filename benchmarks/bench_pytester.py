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

Measured, medians of interleaved repeats of both contenders:

- the wall time of the whole outer process (target <= 1.05x);
- the CPU time of all its processes, the outer one and every xdist worker (the same target): what
  the plugin costs them, which a busy machine's wall time can hide or inflate;
- the outer process's peak RSS after the last session (target <= 1.2x): ``VmHWM`` from
  ``/proc/self/status``, logged by the outer suite after each session;
- whether memory grows with the number of sessions: the peak after the last session against the
  peak after the first fifth of them, installed and (for reference) not installed.

Building the environment takes pip 30-60 s (from its cache), on top of the sessions.
"""

from __future__ import annotations

import importlib.metadata
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from .harness import Figure, check

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
    outer one and every xdist worker it started) and the peak RSS (KiB) after each session."""
    rss_log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("XRAY_DB", "XRAY_ENABLED", "PYTEST_ADDOPTS", "PYTHONPATH")}  # fmt: skip
    env.update(PYTHONPATH=str(path), BENCH_XRAY_INSTALLED="1" if installed else "0")
    command = [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers were reaped by the outer
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0 or f"{sessions + 1} passed" not in done.stdout:
        raise RuntimeError(f"the outer suite failed ({'with' if installed else 'without'} the "
                           f"plugin):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")  # fmt: skip
    peaks = [int(line) for line in rss_log.read_text(encoding="utf-8").split()]
    if len(peaks) != sessions:
        raise RuntimeError(f"{len(peaks)} peaks logged for {sessions} sessions")
    return elapsed, cpu, peaks


def run(quick: bool = False) -> list[Figure]:
    """Wall time and peak memory, installed vs not installed (see the module docstring)."""
    if quick:  # building the environment alone takes longer than every other quick figure
        return [Figure(GROUP, "not run with --quick: it builds a venv (30-60 s of pip); run "
                       "python -m benchmarks --only pytester", None, "")]  # fmt: skip
    sessions, repeat = 50, 4
    early = sessions // 5
    with tempfile.TemporaryDirectory(prefix="xray-bench-pytester-") as tmp:
        folder = Path(tmp)
        python, overlay = build_environment(folder)
        empty = folder / "empty"
        empty.mkdir()
        rss_log = folder / "rss.log"
        suite = write_suite(folder / "suite", sessions, rss_log)
        warm_up = write_suite(folder / "warm-up", 2, rss_log)
        contenders = {"installed": overlay, "not installed": empty}
        for path in contenders.values():  # byte-compile, fill the OS caches, check the set-up
            outer_session(python, warm_up, path, path is overlay, rss_log, 2)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        cpus: dict[str, list[float]] = {name: [] for name in contenders}
        last: dict[str, list[float]] = {name: [] for name in contenders}
        first: dict[str, list[float]] = {name: [] for name in contenders}
        for round_ in range(repeat):  # each contender first in every other round
            for name, path in list(contenders.items())[:: 1 if round_ % 2 == 0 else -1]:
                elapsed, cpu, peaks = outer_session(python, suite, path, path is overlay,
                                                    rss_log, sessions)  # fmt: skip
                times[name].append(elapsed)
                cpus[name].append(cpu)
                last[name].append(peaks[-1] / 1024)
                first[name].append(peaks[early - 1] / 1024)
    wall = {name: statistics.median(values) for name, values in times.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    peak = {name: statistics.median(values) for name, values in last.items()}
    early_peak = {name: statistics.median(values) for name, values in first.items()}
    label = f"{sessions} inline pytester -n 2 sessions"
    peer = "same, decisiontracex not installed"
    after = f"peak RSS after {sessions} sessions"
    return [
        Figure(GROUP, f"{label}: wall time, installed", wall["installed"], "s", peer,
               wall["not installed"], "<= 1.05x",
               check(wall["installed"] / wall["not installed"], "<=", 1.05)),
        Figure(GROUP, f"{label}: CPU time of every process, installed", cpu["installed"], "s",
               peer, cpu["not installed"], "<= 1.05x",
               check(cpu["installed"] / cpu["not installed"], "<=", 1.05)),
        Figure(GROUP, f"{label}: outer {after}, installed", peak["installed"], "MB", peer,
               peak["not installed"], "<= 1.2x",
               check(peak["installed"] / peak["not installed"], "<=", 1.2)),
        Figure(GROUP, f"{label}: {after}, installed", peak["installed"], "MB",
               f"after {early} sessions", early_peak["installed"], "<= 1.05x",
               check(peak["installed"] / early_peak["installed"], "<=", 1.05)),
        Figure(GROUP, f"{label}: {after}, not installed (reference)", peak["not installed"],
               "MB", f"after {early} sessions", early_peak["not installed"]),
    ]  # fmt: skip
