"""Run histories for the ``xray`` command tests, and a way to call the command in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from xray_core import MemoryStore, Run, SQLiteStore, Trace, XRay

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CATALOG = {"B01": (9.5, 4.5), "B02": (15.0, 4.1), "B03": (22.0, 3.2), "B04": (31.0, 4.8)}


def select_competitors(min_price: float, *, test_id: str, run_id: str, when: datetime) -> Trace:
    """Record one small filter pipeline run (real recorder) as a trace of ``run_id``."""
    store = MemoryStore()
    xr = XRay(store=store)
    with xr.trace("competitor-selection", metadata={"product": "P1"}) as trace:
        with trace.step("keyword_generation", input={"title": "steel bottle"}) as step:
            step.set_output({"keywords": ["steel", "bottle"]})
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("filter_and_select") as step:
            chosen = []
            for item, (price, rating) in CATALOG.items():
                filters = [
                    {"name": "price", "passed": price >= min_price,
                     "detail": f"{price:.2f} vs min {min_price:.2f}"},
                    {"name": "rating", "passed": rating > 3.8, "detail": f"{rating} > 3.8"},
                ]
                qualified = all(f["passed"] for f in filters)
                step.add_evaluation(item_id=item, item_data={"price": price}, filters=filters,
                                    qualified=qualified, reasoning="ok" if qualified else "no")
                if qualified:
                    chosen.append(item)
            step.set_output({"selected": chosen})
            step.set_reasoning(f"{len(chosen)} of {len(CATALOG)} qualified")
    recorded = store.get_trace(trace.trace_id)
    assert recorded is not None
    shift = when - recorded.start_time
    moved = [s.model_copy(update=_shifted(s, shift)) for s in recorded.steps]
    return recorded.model_copy(
        update={"run_id": run_id, "test_id": test_id, "steps": moved, **_shifted(recorded, shift)}
    )


def _shifted(record: Any, shift: timedelta) -> dict[str, Any]:
    return {"start_time": record.start_time + shift, "end_time": record.end_time + shift}


def add_run(db: Path, min_price: float, *, commit: str, index: int,
            tests: tuple[str, ...] = ("tests/test_pick.py::test_pick",),
            repeats: int = 1, run_id: str | None = None) -> Run:
    """Append one run (each test records ``repeats`` traces) to the database at ``db``."""
    when = T0 + timedelta(hours=index)
    run = Run(run_id=run_id or uuid.uuid4().hex, started_at=when,
              finished_at=when + timedelta(seconds=3), git_commit=commit, git_branch="main",
              git_dirty=False, command="pytest --xray-db",
              counts={"tests": len(tests), "passed": len(tests), "failed": 0,
                      "traces": len(tests) * repeats, "baseline_failed": 0})
    traces = [
        select_competitors(min_price, test_id=test, run_id=run.run_id,
                           when=when + timedelta(seconds=i))
        for test in tests for i in range(repeats)
    ]  # fmt: skip
    with SQLiteStore(db, strict=True) as store:
        store.save_traces(traces)
        store.save_run(run, [{"test_id": t, "outcome": "passed", "baseline": None,
                              "duration_ms": 5.0} for t in tests])  # fmt: skip
    return run


COMMIT_A = "a" * 8 + "1" * 32
COMMIT_B = "b" * 8 + "2" * 32


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[Run]]:
    """Three runs: commit A (min price 10), commit A again, commit B (min price 20: B02 flips)."""
    db = tmp_path / ".xray" / "runs.db"
    runs = [
        add_run(db, 10.0, commit=COMMIT_A, index=0),
        add_run(db, 10.0, commit=COMMIT_A, index=1),
        add_run(db, 20.0, commit=COMMIT_B, index=2),
    ]
    return db, runs


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """Call ``xray`` in this process (fast): returns (exit status, stdout, stderr)."""
    from xray_core.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")

    def call(*args: Any) -> tuple[int, str, str]:
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            status = int(exc.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return call


# The command of this interpreter's environment: ``xray`` on PATH may be another environment's, or
# another program (Xray-core's proxy is also called ``xray``).
XRAY = [sys.executable, "-m", "xray_core.cli"]


def run_xray(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The ``xray`` command, in a subprocess."""
    return subprocess.run([*XRAY, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=_env(), check=False)  # fmt: skip


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "COLUMNS": "200"}
