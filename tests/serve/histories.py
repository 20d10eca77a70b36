"""Run histories for the ``xray serve`` tests, recorded by the real recorder into a real database.

:func:`record_history` keeps six runs at six commits of a filter pipeline whose minimum price
rises from 10 to 20 at the fourth commit: candidate B02 (price 15) is qualified in runs 0-2 and
rejected by price from run 3 on. ``test_repeat`` records three traces a run whose rating
threshold alternates, so B03's verdict flips from trace to trace (an unstable decision).
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from xray_core import MemoryStore, Run, SQLiteStore, Trace, XRay
from xray_core.models import RunStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CATALOG = {"B01": (9.5, 4.5), "B02": (15.0, 4.1), "B03": (22.0, 3.9), "B04": (31.0, 4.8)}
TEST_PICK = "tests/test_pick.py::test_pick"
TEST_REPEAT = "tests/test_pick.py::test_repeat"
HOSTILE = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>&amp;'\""
FLIP_AT = 3  #: the first run where B02 is rejected


def commit_of(index: int) -> str:
    """The (fake, well-formed) git commit of run ``index``."""
    return f"{index:x}" * 8 + f"{index + 10:032x}"[-32:]


def pipeline(min_price: float, min_rating: float = 3.8, *, name: str = "competitor-selection",
             item_prefix: str = "") -> Trace:  # fmt: skip
    """Record the filter pipeline once (in memory) and return the trace."""
    xr = XRay(store=MemoryStore())
    with xr.trace(name, metadata={"product": "P1"}) as trace:
        with trace.step("keyword_generation", input={"title": "steel bottle"}) as step:
            step.set_output({"keywords": ["steel", "bottle"]})
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("filter_and_select") as step:
            chosen = []
            for item, (price, rating) in CATALOG.items():
                filters = [
                    {"name": "price", "passed": price >= min_price,
                     "detail": f"{price:.2f} vs min {min_price:.2f}"},
                    {"name": "rating", "passed": rating > min_rating,
                     "detail": f"{rating} > {min_rating}"},
                ]  # fmt: skip
                qualified = all(f["passed"] for f in filters)
                step.add_evaluation(item_id=item_prefix + item, item_data={"price": price},
                                    filters=filters, qualified=qualified,
                                    reasoning="ok" if qualified else "no")  # fmt: skip
                if qualified:
                    chosen.append(item)
            step.set_output({"selected": chosen})
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    return recorded


def placed(trace: Trace, *, run_id: str, test_id: str, when: datetime) -> Trace:
    """``trace`` moved to ``when`` and attached to a run and a test."""
    shift = when - trace.start_time

    def moved(record: Any) -> dict[str, Any]:
        return {"start_time": record.start_time + shift, "end_time": record.end_time + shift}

    steps = [s.model_copy(update=moved(s)) for s in trace.steps]
    return trace.model_copy(update={"run_id": run_id, "test_id": test_id, "steps": steps,
                                    **moved(trace)})  # fmt: skip


def record_run(db: Path, index: int, *, status: RunStatus = "completed",
               hostile: bool = False) -> Run:  # fmt: skip
    """Keep run ``index`` of the history in ``db`` (see the module docstring)."""
    when = T0 + timedelta(hours=index)
    run_id = uuid.uuid4().hex
    min_price = 10.0 if index < FLIP_AT else 20.0
    traces = [placed(pipeline(min_price), run_id=run_id, test_id=TEST_PICK, when=when)]
    for i in range(3):  # B03 (rating 3.9) passes 3.8 and fails 4.0: it flips every trace
        traces.append(placed(pipeline(min_price, 3.8 if i % 2 == 0 else 4.0), run_id=run_id,
                             test_id=TEST_REPEAT, when=when + timedelta(seconds=1 + i)))  # fmt: skip
    tests = [TEST_PICK, TEST_REPEAT]
    if hostile:
        test_id = f"tests/test_hostile.py::test_x[{HOSTILE}]"
        traces.append(placed(pipeline(min_price, name=HOSTILE, item_prefix=HOSTILE),
                             run_id=run_id, test_id=test_id, when=when + timedelta(seconds=9)))  # fmt: skip
        tests.append(test_id)
    run = Run(run_id=run_id, started_at=when, finished_at=when + timedelta(seconds=30),
              git_commit=commit_of(index), git_branch="main", git_dirty=False,
              command="pytest --xray-db", status=status,
              counts={"tests": len(tests), "passed": len(tests), "failed": 0,
                      "traces": len(traces), "baseline_failed": 0})  # fmt: skip
    with SQLiteStore(db, strict=True) as store:
        store.save_traces(traces)
        store.save_run(run, [{"test_id": t, "outcome": "passed", "baseline": None,
                              "duration_ms": 5.0} for t in tests])  # fmt: skip
    return run


def record_history(db: Path, runs: int = 6, *, hostile: bool = False) -> list[Run]:
    """``runs`` runs, oldest first (see the module docstring)."""
    return [record_run(db, i, hostile=hostile) for i in range(runs)]


def as_version_5(conn: sqlite3.Connection) -> None:
    """The database as schema 5 stored it: no trace digest column, version 5's indexes."""
    conn.execute("DROP INDEX idx_traces_test_content")
    conn.execute("ALTER TABLE traces DROP COLUMN digest")
    conn.execute('CREATE INDEX "idx_traces_test_run" ON "traces" '
                 '("test_id", "run_id", "start_time", "name", "trace_id")')  # fmt: skip
    conn.execute("PRAGMA user_version = 5")


def as_version_4(conn: sqlite3.Connection) -> None:
    """The database as schema 4 stored it: no digest column, version 4's indexes."""
    as_version_5(conn)
    conn.execute("DROP INDEX idx_steps_content")
    conn.execute("DROP INDEX idx_traces_test_run")
    conn.execute("ALTER TABLE steps DROP COLUMN digest")
    for table, column in (("steps", "trace_id"), ("traces", "test_id"), ("traces", "created_at")):
        conn.execute(f"CREATE INDEX idx_{table}_{column} ON {table} ({column})")
    conn.execute("CREATE INDEX idx_steps_trace_id_step_order ON steps (trace_id, step_order)")
    conn.execute("PRAGMA user_version = 4")
