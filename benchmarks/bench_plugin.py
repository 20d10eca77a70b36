"""Whole-process cost of the pytest plugin: the same generated suite with and without it.

Three figures, each the median wall time of complete ``python -m pytest`` processes (repeats
interleaved so a noisy neighbour hits every contender alike):

- a suite that records nothing, plugin on vs ``-p no:xray`` (target <= 1.05x: the plugin must not
  be felt by projects that do not trace);
- the same suite where every test records a 3-step trace, run with ``--xray-db`` and
  ``--xray-report`` vs ``-p no:xray`` (target <= 1.3x);
- for reference, pytest-html's ``--html`` on the recording suite vs ``-p no:xray``.

Before timing, our packages' bytecode is written as a wheel's install would
(:func:`~benchmarks.harness.compile_our_packages`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from itertools import count
from pathlib import Path

from .harness import Figure, check, compile_our_packages, interleaved_medians

GROUP = "plugin"
MODULES = 10

RECORDING = """
import xray_core

FILTERS = [{"name": "price", "passed": True, "detail": "22.00 in [12.50, 50.00]"},
           {"name": "reviews", "passed": False, "detail": "90 <= 100"}]


def record(n):
    with xray_core.trace("bench", metadata={"n": n}) as trace:
        with trace.step("keyword_generation", input={"title": "Steel Water Bottle"}) as step:
            step.set_output({"keywords": ["steel", "water", "bottle"]})
            step.add_llm_metadata(model="mock-llm", tokens_used=12, temperature=0.2)
        with trace.step("candidate_search", input={"keywords": ["steel"]}) as step:
            step.set_output({"count": 3})
        with trace.step("filter_and_select") as step:
            for i in range(3):
                step.add_evaluation(item_id=f"B{i}", item_data={"price": 20 + i},
                                    filters=FILTERS, qualified=False, reasoning="few reviews")
            step.set_output({"selected": None})
"""


def write_suite(root: Path, tests: int, recording: bool) -> Path:
    """``tests`` trivial tests in :data:`MODULES` modules (each recording a trace if asked)."""
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    per_module = tests // MODULES
    for m in range(MODULES):
        body = [RECORDING] if recording else []
        for t in range(per_module):
            call = f"record({t})" if recording else "pass"
            body.append(f"def test_{t}():\n    {call}\n    assert {t} >= 0\n")
        (root / f"test_mod{m}.py").write_text(textwrap.dedent("\n".join(body)))
    return root


def _runner(root: Path, extra: Callable[[], list[str]]) -> Callable[[], None]:
    def run() -> None:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra()]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr}")

    return run


def run(quick: bool = False) -> list[Figure]:
    """Measure the three figures (``quick``: 200 tests, 3 repeats; else 1,000 tests, 7 repeats)."""
    tests, repeat = (200, 3) if quick else (1000, 7)
    with tempfile.TemporaryDirectory(prefix="xray-bench-plugin-") as tmp:
        plain = write_suite(Path(tmp) / "plain", tests, recording=False)
        traced = write_suite(Path(tmp) / "traced", tests, recording=True)
        runs = count()

        def outputs() -> list[str]:
            n = next(runs)  # a fresh database and report each time: appending would grow
            return [f"--xray-db={tmp}/runs{n}.db", f"--xray-report={tmp}/report{n}.html"]

        compile_our_packages()  # as a wheel's install does: see its docstring
        times = interleaved_medians(
            {
                "plain": _runner(plain, list),
                "plain off": _runner(plain, lambda: ["-p", "no:xray"]),
                "traced": _runner(traced, outputs),
                "traced off": _runner(traced, lambda: ["-p", "no:xray"]),
                "traced html": _runner(traced, lambda: ["-p", "no:xray", f"--html={tmp}/h.html"]),
            },
            repeat=repeat,
        )
    off, traced_off = times["plain off"], times["traced off"]
    return [
        Figure(GROUP, f"{tests} tests recording nothing", times["plain"], "s",
               "same suite, -p no:xray", off, "<= 1.05x", check(times["plain"] / off, "<=", 1.05)),
        Figure(GROUP, f"{tests} tests x 3-step trace, --xray-db --xray-report", times["traced"],
               "s", "same suite, -p no:xray", traced_off, "<= 1.3x",
               check(times["traced"] / traced_off, "<=", 1.3)),
        Figure(GROUP, f"{tests} tests x 3-step trace, pytest-html --html (reference)",
               times["traced html"], "s", "same suite, -p no:xray", traced_off),
    ]  # fmt: skip
