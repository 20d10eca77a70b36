"""The plugin on a suite of quick tests that each record a trace (issue 9's workload).

A generated suite of 1,000 tests (100 with ``--quick``) in 10 modules. Each test busy-waits 1 ms
(the test's own work) and calls a small pipeline that records a 3-step trace through the ambient
API (``xray_core.trace`` / ``xray_core.step``): keyword generation with LLM metadata
(``add_llm_metadata``), a candidate search, and a filter step with 5 evaluations of 3 filters.

Every contender is a complete ``python -m pytest -q -p no:cacheprovider`` process, timed from
start to exit; the repeats of all contenders are interleaved and the figure is the median. The
other pytest plugins installed beside this one (hypothesis, pytest-html, xdist, ...) are blocked
with ``-p no:NAME`` in every contender, so the peer is pytest alone: their start-up cost (over a
second for hypothesis on a busy machine) would otherwise dilute the ratios. Before timing, the
bytecode of ``xray_core`` and ``pytest_xray`` is written
(:func:`~benchmarks.harness.compile_our_packages`), as installing them from a wheel would:
pytest's own was written when pip installed it.

- **recorded**: ``--xray-db=<tmp>/runs.db --xray-report=<tmp>/report.html`` (a fresh database
  and report every repeat), recording on;
- **peer**: the same suite with ``-p no:xray`` and ``XRAY_ENABLED=0`` (no plugin, and the
  pipeline's ``xray_core.trace`` is a no-op);
- **installed, recording off**: the plugin loaded, no ``--xray-*`` option, ``XRAY_ENABLED=0``
  (what a project pays for having the plugin installed when it records nothing);
- **captured, nothing written** (reference, not in ``--quick``): the plugin loaded and recording
  on, but no ``--xray-*`` option: every trace is captured in memory for the ``xray`` fixture;
- **recorded, written by pytest** (reference, not in ``--quick``): as *recorded*, with
  ``-o xray_keeper=false``: the pytest process writes the rows (a writer thread) and the report
  itself instead of the run's keeper process.

After timing, the last recorded run's database is read back (one trace per test, five
evaluations in the filter step) and its report checked, so a run that recorded nothing cannot
pass for a fast one.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping
from itertools import count
from pathlib import Path

from .harness import Figure, check, compile_our_packages, interleaved_medians

GROUP = "plugin"
MODULES = 10

PIPELINE = '''
"""A small competitor-selection pipeline, instrumented with the ambient API."""
import time

import xray_core

TITLE = "Steel Water Bottle 750ml"
RATINGS = (3.5, 3.9, 4.2, 3.7, 4.5)
REVIEWS = (60, 150, 90, 300, 120)


def busy(seconds=0.001):
    """The test's own work: a busy wait of ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def select(product_id, price):
    with xray_core.trace("competitor-selection", metadata={"product_id": product_id}):
        with xray_core.step("keyword_generation", input={"title": TITLE}) as step:
            keywords = ["steel", "water bottle", "750ml"]
            step.set_output({"keywords": keywords})
            step.set_reasoning("Extracted material and capacity")
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with xray_core.step("candidate_search", input={"keywords": keywords}) as step:
            candidates = [
                {"item_id": f"B0ITEM{i:03d}", "price": price + 5 * i, "rating": rating,
                 "reviews": reviews}
                for i, (rating, reviews) in enumerate(zip(RATINGS, REVIEWS))
            ]
            step.set_output({"found": len(candidates)})
        with xray_core.step("filter_and_select", input={"price": price}) as step:
            qualified = []
            for c in candidates:
                filters = [
                    {"name": "price", "passed": c["price"] <= 2 * price,
                     "detail": f"{c['price']:.2f} <= {2 * price:.2f}"},
                    {"name": "rating", "passed": c["rating"] > 3.8,
                     "detail": f"{c['rating']:.1f} > 3.8"},
                    {"name": "reviews", "passed": c["reviews"] > 100,
                     "detail": f"{c['reviews']} > 100"},
                ]
                ok = all(f["passed"] for f in filters)
                step.add_evaluation(item_id=c["item_id"], item_data=c, filters=filters,
                                    qualified=ok, reasoning="Qualified" if ok else "Rejected")
                if ok:
                    qualified.append(c)
            best = max(qualified, key=lambda c: c["reviews"])["item_id"] if qualified else None
            step.set_output({"selected": best, "qualified": len(qualified)})
            step.set_reasoning("the most reviewed qualified candidate")
    return best
'''

TEST = """
def test_{n}():
    busy()
    assert select("P{n}", 20.0) == "B0ITEM001"
"""


def write_suite(root: Path, tests: int) -> Path:
    """``tests`` tests in :data:`MODULES` modules, each timing 1 ms and recording a trace."""
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (root / "bench_pipeline.py").write_text(PIPELINE, encoding="utf-8")
    per_module = tests // MODULES
    for m in range(MODULES):
        body = ["from bench_pipeline import busy, select\n"]
        body += [TEST.format(n=m * per_module + t) for t in range(per_module)]
        (root / f"test_mod{m}.py").write_text(textwrap.dedent("".join(body)), encoding="utf-8")
    return root


def other_plugins() -> list[str]:
    """``-p no:NAME`` for every installed pytest plugin that is not decisiontracex's."""
    names = {
        ep.name
        for ep in importlib.metadata.entry_points(group="pytest11")
        if ep.dist is None or ep.dist.name != "decisiontracex"
    }
    return [arg for name in sorted(names) for arg in ("-p", f"no:{name}")]


def pytest_process(
    root: Path, tests: int, args: Callable[[], list[str]], env: Mapping[str, str]
) -> Callable[[], None]:
    """A complete ``python -m pytest`` process on ``root``; raises unless every test passed."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("XRAY_DB", "XRAY_ENABLED", "PYTEST_ADDOPTS")}  # fmt: skip

    blocked = other_plugins()

    def run() -> None:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *blocked,
                   *args()]  # fmt: skip
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False,
                              env={**base, **env})  # fmt: skip
        if done.returncode != 0 or f"{tests} passed" not in done.stdout:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr}")

    return run


def check_recorded(db: Path, report: Path, tests: int) -> None:
    """The recorded run holds one 3-step trace per test, and its report was written."""
    import xray_core

    store = xray_core.SQLiteStore(db, strict=True)
    try:
        traces = store.list_traces(limit=None)
    finally:
        store.close()
    assert len(traces) == tests, f"{len(traces)} traces in {db}, {tests} tests"
    steps = traces[-1].steps
    assert [s.name for s in steps] == ["keyword_generation", "candidate_search",
                                       "filter_and_select"], steps  # fmt: skip
    assert steps[0].metadata["llm"]["model"] == "mock-llm"
    evaluations = steps[2].metadata["evaluations"]
    assert len(evaluations) == 5 and all(len(e["filters"]) == 3 for e in evaluations)
    assert report.stat().st_size > 0, f"empty report {report}"


def run(quick: bool = False) -> list[Figure]:
    """Wall time of the suite with the plugin recording, idle, or not loaded (see the docstring)."""
    tests, repeat = (100, 3) if quick else (1000, 7)
    with tempfile.TemporaryDirectory(prefix="xray-bench-suite-") as tmp:
        root = write_suite(Path(tmp) / "suite", tests)
        runs = count()
        written: dict[str, list[Path]] = {}

        def outputs(*extra: str) -> Callable[[], list[str]]:
            def args() -> list[str]:
                n = next(runs)  # a fresh database and report each time: appending would grow
                last = written[" ".join(extra)] = [Path(tmp) / f"runs{n}.db",
                                                   Path(tmp) / f"report{n}.html"]  # fmt: skip
                return [f"--xray-db={last[0]}", f"--xray-report={last[1]}", *extra]

            return args

        off = {"XRAY_ENABLED": "0"}
        contenders = {
            "recorded": pytest_process(root, tests, outputs(), {}),
            "off": pytest_process(root, tests, lambda: ["-p", "no:xray"], off),
            "idle": pytest_process(root, tests, list, off),
        }
        if not quick:  # references only: --quick keeps to the figures with a target
            contenders["captured"] = pytest_process(root, tests, list, {})
            contenders["in_process"] = pytest_process(
                root, tests, outputs("-o", "xray_keeper=false"), {}
            )
        compile_our_packages()  # as a wheel's install does: see its docstring
        times = interleaved_medians(contenders, repeat=repeat)
        for db, report in written.values():
            check_recorded(db, report, tests)
    suite = f"{tests} tests of 1 ms x 3-step trace"
    peer, peer_value = "same suite, -p no:xray, XRAY_ENABLED=0", times["off"]
    figures = [
        Figure(GROUP, f"{suite}, --xray-db --xray-report", times["recorded"], "s", peer,
               peer_value, "<= 1.15x", check(times["recorded"] / peer_value, "<=", 1.15)),
        Figure(GROUP, f"{suite}, plugin installed, XRAY_ENABLED=0 (records nothing)",
               times["idle"], "s", peer, peer_value, "<= 1.05x",
               check(times["idle"] / peer_value, "<=", 1.05)),
    ]  # fmt: skip
    if "captured" in times:
        figures.append(Figure(GROUP, f"{suite}, no --xray-* option: captured, nothing written"
                              " (reference)", times["captured"], "s", peer, peer_value))  # fmt: skip
        figures.append(Figure(GROUP, f"{suite}, --xray-db --xray-report written by pytest "
                              "(xray_keeper = false, reference)", times["in_process"], "s", peer,
                              peer_value))  # fmt: skip
    return figures
