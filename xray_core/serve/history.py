"""One candidate's verdict run by run (``GET /api/history``): the page's timeline.

Read straight from the stored evaluations with SQLite's JSON functions (one query for the whole
window, no trace loaded), so the timeline of an item over hundreds of runs stays quick.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from pydantic import ValidationError

from ..models import Evaluation, Run
from .api import ApiError, matching_tests, run_summary
from .database import ServedDatabase

DEFAULT_LAST = 50

#: the steps (with their metadata) of the traces of some tests in some runs, in recording order;
#: the last condition skips, without parsing it, the metadata of a step that cannot name the item
_STEPS = """
SELECT t.run_id, t.trace_id, t.test_id, t.name AS trace, s.step_id, s.name AS step, s.metadata
FROM traces AS t JOIN steps AS s ON s.trace_id = t.trace_id
WHERE t.run_id IN (SELECT value FROM json_each(?))
  AND t.test_id IN (SELECT value FROM json_each(?))
  AND instr(s.metadata, ?) > 0
ORDER BY t.start_time, t.trace_id, s.step_order
"""


def _needle(item: str) -> str:
    """Text every stored metadata naming ``item`` contains (empty: no shortcut is safe).

    The store writes JSON with ``ensure_ascii=False``: printable ASCII text without quotes or
    backslashes appears as itself, whether the id was written as a string or as a number.
    """
    simple = item.isascii() and item.isprintable() and not any(c in item for c in '"\\')
    return item if simple else "{"


def verdict_text(evaluation: Evaluation) -> str:
    """``qualified``, ``rejected by price, rating`` or ``rejected``."""
    if evaluation.qualified:
        return "qualified"
    failed = [f.name for f in evaluation.failed_filters]
    return "rejected by " + ", ".join(failed) if failed else "rejected"


def item_history(
    db: ServedDatabase, *, test: str, item: str, step: str | None = None,
    last: int = DEFAULT_LAST,
) -> dict[str, Any]:  # fmt: skip
    """The verdict on ``item`` in each of the last ``last`` runs (oldest first) that ran a test
    matching ``test``: per trace the item's final decision (its last evaluation, or its one in
    ``step``), per run the verdict, and whether it changed from the run before.
    """
    runs = list(reversed(db.store.list_runs(limit=last)))
    tests = matching_tests(db, test)
    if not tests:
        raise ApiError(404, f"test {test!r}: no stored trace belongs to a matching test")
    window, selected = json.dumps([r.run_id for r in runs]), json.dumps(tests)
    ran = {
        r[0]
        for r in db.rows("SELECT DISTINCT run_id FROM traces WHERE run_id IN (SELECT value FROM "
                         "json_each(?)) AND test_id IN (SELECT value FROM json_each(?))",
                         [window, selected])  # fmt: skip
    }
    decided: dict[str, dict[str, dict[str, Any]]] = {}  # run -> trace -> final decision
    for row in db.rows(_STEPS, [window, selected, _needle(item)]):
        if step is not None and row["step"] != step:
            continue
        for evaluation in _evaluations_of(row["metadata"], item):
            decided.setdefault(row["run_id"], {})[row["trace_id"]] = _observation(row, evaluation)
    if not decided:
        where = f" in step {step!r}" if step else ""
        raise ApiError(404, f"item {item!r} was not evaluated{where} by a test matching "
                            f"{test!r} in the last {len(runs)} run(s)")  # fmt: skip
    timeline = _timeline([r for r in runs if r.run_id in ran], decided)
    return {"test": test, "item": item, "step": step, "tests": tests, "runs": timeline,
            "current": _current(timeline)}  # fmt: skip


def _evaluations_of(metadata: str | None, item: str) -> list[Evaluation]:
    """The evaluations of ``item`` in a step's stored metadata (none when it is not readable)."""
    try:  # pydantic's parser: the metadata of every step of the window is read
        entries = pydantic_core.from_json(metadata or "{}").get("evaluations")
    except (ValueError, AttributeError):
        return []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and str(entry.get("item_id")) == item:
            try:
                found.append(Evaluation.model_validate(entry))
            except ValidationError:
                continue  # free-form metadata that only looks like an evaluation
    return found


def _observation(row: Any, evaluation: Evaluation) -> dict[str, Any]:
    def filters(passed: bool) -> list[dict[str, Any]]:
        return [{"name": f.name, "passed": f.passed, "detail": f.detail}
                for f in evaluation.filters if f.passed is passed]  # fmt: skip

    return {
        "trace_id": row["trace_id"], "test_id": row["test_id"], "trace": row["trace"],
        "step": row["step"], "step_id": row["step_id"], "qualified": evaluation.qualified,
        "verdict": verdict_text(evaluation), "failed": filters(False), "passed": filters(True),
        "reasoning": evaluation.reasoning,
    }  # fmt: skip


def _timeline(runs: list[Run], decided: dict[str, dict[str, dict[str, Any]]]) -> list[Any]:
    timeline = []
    previous: str | None = None
    for run in runs:
        observations = list(decided.get(run.run_id, {}).values())
        verdicts = sorted({o["verdict"] for o in observations})
        if not verdicts:
            verdict = "not evaluated"
        elif len(verdicts) == 1:
            verdict = verdicts[0]
        else:
            verdict = "mixed: " + "; ".join(verdicts)
        changed = previous is not None and verdict != previous
        previous = verdict
        timeline.append({"run": run_summary(run), "verdict": verdict, "changed": changed,
                         "observations": observations})  # fmt: skip
    return timeline


def _current(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest verdict, the run where it first appeared, and the verdict before it."""
    if not timeline:
        return None
    verdict = timeline[-1]["verdict"]
    start = len(timeline) - 1
    while start > 0 and timeline[start - 1]["verdict"] == verdict:
        start -= 1
    before = timeline[start - 1]["verdict"] if start > 0 else None
    streak = start
    while streak > 0 and before is not None and timeline[streak - 1]["verdict"] == before:
        streak -= 1
    return {"verdict": verdict, "since": timeline[start]["run"], "runs": len(timeline) - start,
            "before": before, "runs_before": start - streak}  # fmt: skip
