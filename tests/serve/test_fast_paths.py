"""The server's fast paths answer exactly what the straightforward ones answer.

``xray serve`` reads rows without building models, derives each distinct trace content once,
skips comparing traces of the same content and parses each distinct metadata text once
(:mod:`xray_core.serve.content`, :mod:`~xray_core.serve.fastdiff`, :mod:`~xray_core.serve.history`).
Here histories recorded by the real recorder into a real database, with contents repeated and
varied at random (NaN values, nested and repeated steps, free-form ``evaluations``, several
inputs, runs that did not complete), are read both ways and must give the same JSON.
"""

from __future__ import annotations

import json
import math
import sqlite3
import uuid
from argparse import Namespace
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from xray_core import MemoryStore, Run, SQLiteStore, Trace, XRay
from xray_core.commands.common import match_test
from xray_core.commands.diff import compare_runs, diff_json
from xray_core.commands.stability import entry_json
from xray_core.diff import normalize_trace
from xray_core.models import Evaluation
from xray_core.serve.api import stability_page
from xray_core.serve.cache import ResultCache
from xray_core.serve.content import TraceContents
from xray_core.serve.database import ServedDatabase
from xray_core.serve.fastdiff import compare_stored
from xray_core.serve.history import _decision, item_history, verdict_text
from xray_core.stability import decision_stability

from .histories import as_version_4, as_version_5

pytest.importorskip("fastapi")

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
TESTS = ["tests/t.py::test_a", "tests/t.py::test_b[x]"]
ITEMS = ["B1", "B2", "7"]

scalars = (st.none() | st.booleans() | st.integers(-2, 2) | st.text("aé\n\"\\", max_size=3)
           | st.sampled_from([0.5, 1e300, -0.0, math.nan, math.inf]))  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from("xyz"), inner, max_size=2),
                      max_leaves=6)  # fmt: skip
filters = st.lists(st.tuples(st.sampled_from(["price", "rating"]), st.booleans(),
                             st.sampled_from(["", "12 < 15", "é"])), max_size=2)  # fmt: skip
evaluations = st.lists(st.tuples(st.sampled_from([*ITEMS, 7]), filters, st.booleans(),
                                 st.sampled_from([None, "ok", "no"]), values), max_size=3)  # fmt: skip
#: what a step may hold under ``evaluations`` when set as free-form metadata
free_form = st.one_of(values, st.lists(st.one_of(values, st.fixed_dictionaries(
    {"item_id": st.sampled_from(ITEMS), "qualified": st.one_of(st.booleans(), values)})),
    max_size=3))  # fmt: skip


@dataclass(frozen=True)
class StepSpec:
    name: str
    nested: bool  #: a sub-step of the step before
    input: Any
    output: Any
    evaluations: list[Any]
    free_form: Any  #: set as metadata["evaluations"] instead, when not None
    reasoning: str | None


@dataclass(frozen=True)
class TraceSpec:
    name: str
    metadata: dict[str, Any]
    steps: list[StepSpec]
    #: a NaN in the first step's output, as a database written by another program may hold
    #: (the recorder writes NaN as the text "NaN")
    nan: bool


step_specs = st.builds(StepSpec, st.sampled_from(["a", "b"]), st.booleans(), values, values,
                       evaluations, st.one_of(st.none(), st.none(), free_form),
                       st.sampled_from([None, "why"]))  # fmt: skip
trace_specs = st.builds(TraceSpec, st.sampled_from(["pick", "rank"]),
                        st.sampled_from([{}, {"stability_key": "k1"}, {"product": "P1"}]),
                        st.lists(step_specs, min_size=1, max_size=3), st.booleans())  # fmt: skip
#: runs (oldest first), each a list of (index into the pool of specs, test index) and a status
histories = st.tuples(
    st.lists(trace_specs, min_size=1, max_size=3),
    st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1)), max_size=4),
                       st.sampled_from(["completed", "completed", "interrupted"])),
             min_size=2, max_size=4),
)  # fmt: skip


def record(spec: TraceSpec) -> Trace:
    """``spec`` recorded by the real recorder."""
    xr = XRay(store=MemoryStore())
    with xr.trace(spec.name, metadata=spec.metadata) as trace:
        parent = None
        for s in spec.steps:
            owner = parent if (s.nested and parent is not None) else trace
            with owner.step(s.name, input=s.input) as step:
                step.set_output(s.output)
                if s.reasoning is not None:
                    step.set_reasoning(s.reasoning)
                if s.free_form is not None:
                    step.set_metadata({"evaluations": s.free_form})
                for item, fs, qualified, reasoning, data in s.evaluations:
                    step.add_evaluation(item, item_data={"v": data}, qualified=qualified,
                                        filters=[{"name": n, "passed": p, "detail": d}
                                                 for n, p, d in fs], reasoning=reasoning)  # fmt: skip
            parent = step
    recorded = xr.store.get_trace(trace.trace_id)
    assert recorded is not None
    if spec.nan:
        first = recorded.steps[0].model_copy(update={"output": {"x": math.nan}})
        recorded = recorded.model_copy(update={"steps": [first, *recorded.steps[1:]]})
    return recorded


def write(db: Path, history: tuple[list[TraceSpec], list[Any]]) -> list[Run]:
    """The history in ``db``; the runs, oldest first."""
    pool, run_specs = history
    recorded = [record(spec) for spec in pool]
    runs = []
    with SQLiteStore(db, strict=True) as store:
        for r, (traces, status) in enumerate(run_specs):
            run_id, when = uuid.uuid4().hex, T0 + timedelta(hours=r)
            kept = []
            for t, (spec, test) in enumerate(traces):
                source = recorded[spec % len(recorded)]
                shift = when + timedelta(seconds=t) - source.start_time
                trace_id, ids = (
                    uuid.uuid4().hex,
                    {s.step_id: uuid.uuid4().hex for s in source.steps},
                )
                steps = [s.model_copy(update={
                    "step_id": ids[s.step_id], "parent_id": ids.get(s.parent_id or ""),
                    "trace_id": trace_id,
                    "start_time": s.start_time + shift, "end_time": s.end_time + shift,
                }) for s in source.steps]  # fmt: skip
                kept.append(source.model_copy(update={
                    "trace_id": trace_id, "run_id": run_id, "test_id": TESTS[test],
                    "steps": steps, "start_time": source.start_time + shift,
                    "end_time": source.end_time + shift,
                }))  # fmt: skip
            run = Run(run_id=run_id, started_at=when, finished_at=when + timedelta(minutes=1),
                      status=status, counts={"traces": len(kept)})  # fmt: skip
            store.save_traces(kept)
            finished = TESTS if status == "completed" else TESTS[:1]
            store.save_run(run, [{"test_id": t, "outcome": "passed"} for t in finished])
            runs.append(run)
    return runs


#: how the digests are stored: schema 6 (every trace and step), a file migrated from version 4
#: (the first run's traces and steps stored before: no digest), a file migrated from version 5
#: or recorded step by step (the first run's traces without a digest, their steps with one), a
#: version 5 file (no trace digest column), a version 4 file (no digest column)
FORMS = st.sampled_from(["digests", "some without", "no trace digest", "version 5",
                         "version 4"])


def opened(tmp_path: Path, history: Any, form: str = "digests"
           ) -> tuple[ServedDatabase, SQLiteStore, list[Run]]:  # fmt: skip
    db = tmp_path / f"{uuid.uuid4().hex}.db"
    runs = write(db, history)
    conn = sqlite3.connect(db, isolation_level=None)
    if form == "some without":
        conn.execute("UPDATE steps SET digest = NULL WHERE trace_id IN "
                     "(SELECT trace_id FROM traces WHERE run_id = ?)", [runs[0].run_id])  # fmt: skip
    if form in ("some without", "no trace digest"):
        conn.execute("UPDATE traces SET digest = NULL WHERE run_id = ?", [runs[0].run_id])
    elif form == "version 5":
        as_version_5(conn)
    elif form == "version 4":
        as_version_4(conn)
    conn.close()
    return ServedDatabase(db), SQLiteStore(db, strict=True, read_only=True), runs


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text (NaN equals NaN there)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])  # fmt: skip


@SETTINGS
@given(history=histories, test=st.sampled_from([None, "test_a", "*[x]", "nothing"]),
       ignore=st.sampled_from([[], ["*.detail"], ["a.output*"]]),
       tolerance=st.sampled_from([0.0, 0.75]), flags=st.tuples(st.booleans(), st.booleans()),
       partial=st.booleans(), form=FORMS)  # fmt: skip
def test_the_served_diff_is_xray_diff(
    tmp_path: Path, history: Any, test: str | None, ignore: list[str], tolerance: float,
    flags: tuple[bool, bool], partial: bool, form: str,
) -> None:  # fmt: skip
    served, store, runs = opened(tmp_path, history, form)
    try:
        args = Namespace(test=test, ignore=ignore, tolerance=tolerance, include_llm=flags[0],
                         include_reasoning=flags[1], partial=partial)  # fmt: skip
        for pair in ([runs[0], runs[-1]], [runs[-2], runs[-1]], [runs[0], runs[0]]):
            try:
                expected: Any = diff_json(compare_runs(store, pair, args))
            except Exception as exc:  # noqa: BLE001 - the same error is expected
                expected = (type(exc), str(exc))
            try:
                found: Any = diff_json(compare_stored(served, TraceContents(), pair, args))
            except Exception as exc:  # noqa: BLE001
                found = (type(exc), str(exc))
            assert same_json(found, expected)
    finally:
        served.close()
        store.close()


@SETTINGS
@given(history=histories, test=st.sampled_from([None, "test_a", "*[x]"]),
       last=st.integers(1, 4), form=FORMS)  # fmt: skip
def test_the_served_stability_is_xray_stability(
    tmp_path: Path, history: Any, test: str | None, last: int, form: str
) -> None:
    served, store, runs = opened(tmp_path, history, form)
    contents = TraceContents()  # shared: a second reading answers from what the first kept
    try:
        traces = [t for r in reversed(store.list_runs(limit=last))
                  for t in store.list_traces(None, run_id=r.run_id)
                  if match_test(t.test_id, test)]  # fmt: skip
        expected = [entry_json(e) for e in decision_stability(traces)]
        for _ in range(2):
            found = json.loads(stability_page(served, ResultCache(), contents, last=last,
                                              test=test))  # fmt: skip
            assert found["traces"] == len(traces)
            assert same_json(found["decisions"], expected)
    finally:
        served.close()
        store.close()


def reference_history(store: SQLiteStore, runs: list[Run], tests: list[str], item: str,
                      step: str | None) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each run's traces' final decision on ``item``, read from whole traces."""
    decided: dict[str, dict[str, Any]] = {}
    for run in runs:
        traces = [t for t in store.list_traces(None, run_id=run.run_id) if t.test_id in tests]
        for trace in sorted(traces, key=lambda t: (t.start_time, t.trace_id)):
            for s in trace.steps:
                entries = s.metadata.get("evaluations")
                if (step is not None and s.name != step) or not isinstance(entries, list):
                    continue
                for entry in entries:
                    if not (isinstance(entry, dict) and str(entry.get("item_id")) == item):
                        continue
                    try:
                        evaluation = Evaluation.model_validate(entry)
                    except ValidationError:
                        continue
                    assert verdict_text(evaluation)
                    decided.setdefault(run.run_id, {})[trace.trace_id] = {
                        "trace_id": trace.trace_id, "test_id": trace.test_id,
                        "trace": trace.name, "step": s.name, "step_id": s.step_id,
                        **_decision(evaluation),
                    }  # fmt: skip
    return decided


def observations(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A history entry's decisions, trace by trace (as ``reference_history`` gives them; the
    deciding step's id is given for the first trace of each decision only, None for others)."""
    found = {}
    for decision in entry["decisions"]:
        shown = {k: v for k, v in decision.items() if k not in ("traces", "test_id", "trace",
                                                                 "step", "step_id")}  # fmt: skip
        for i, trace_id in enumerate(decision["traces"]):
            found[trace_id] = {"trace_id": trace_id, "test_id": decision["test_id"],
                               "trace": decision["trace"], "step": decision["step"],
                               "step_id": decision["step_id"] if i == 0 else None, **shown}  # fmt: skip
    return found


@SETTINGS
@given(history=histories, item=st.sampled_from(ITEMS), step=st.sampled_from([None, "a"]),
       form=FORMS)  # fmt: skip
def test_the_served_history_reads_what_whole_traces_say(
    tmp_path: Path, history: Any, item: str, step: str | None, form: str
) -> None:
    served, store, runs = opened(tmp_path, history, form)
    try:
        expected = reference_history(store, runs, TESTS, item, step)
        try:
            found = item_history(served, test="tests/t.py", item=item, step=step)
        except Exception as exc:  # noqa: BLE001 - only when nothing was evaluated
            assert not expected, exc
            return
        by_run = {e["run"]["run_id"]: observations(e) for e in found["runs"]}
        for entry in found["runs"]:
            run_id = entry["run"]["run_id"]
            reference = expected.get(run_id, {})
            firsts = {d["traces"][0] for d in entry["decisions"]}
            assert same_json(by_run[run_id], {t: {**e, "step_id": e["step_id"] if t in firsts
                                                  else None} for t, e in reference.items()})  # fmt: skip
            for d in entry["decisions"]:  # each decision's traces in recording order
                assert d["traces"] == [t for t in reference if t in set(d["traces"])]
        assert set(expected) <= set(by_run)
        for entry in found["runs"]:  # each distinct decision once per run
            shown = [{k: v for k, v in d.items() if k != "traces"} for d in entry["decisions"]]
            assert all(a != b for i, a in enumerate(shown) for b in shown[:i])
    finally:
        served.close()
        store.close()


@SETTINGS
@given(pool=st.lists(trace_specs, min_size=2, max_size=2))
def test_equal_content_keys_are_equal_traces_but_for_ids_and_times(
    tmp_path: Path, pool: list[TraceSpec]
) -> None:
    served, store, runs = opened(tmp_path, (pool, [([(0, 0), (1, 0), (0, 1)], "completed"),
                                                   ([(1, 0), (0, 0)], "completed")]))  # fmt: skip
    try:
        stored = [t for r in runs for t in TraceContents().run_traces(served, r.run_id)]
        whole = {t.trace_id: t for r in runs for t in store.list_traces(None, run_id=r.run_id)}
        # recorded from the pool's specs 0, 1, 0 | 1, 0: one content each, whatever the ids
        assert stored[0].key == stored[2].key == stored[4].key
        assert stored[1].key == stored[3].key
        for a in stored:
            for b in stored:
                if a.key == b.key:
                    assert same_json(normalize_trace(whole[a.trace_id]),
                                     normalize_trace(whole[b.trace_id]))  # fmt: skip
    finally:
        served.close()
        store.close()
