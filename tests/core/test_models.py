"""The pydantic models: fields, UTC times and the helpers over metadata."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import xray_core as xray

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def step(**fields: object) -> xray.Step:
    data: dict[str, object] = {"step_id": "t.0", "trace_id": "t", "name": "s", "start_time": NOON}
    data.update(fields)
    return xray.Step.model_validate(data)


def test_times_become_aware_utc() -> None:
    naive = step(start_time=datetime(2026, 3, 1, 12, 0))
    assert naive.start_time == NOON
    paris = timezone(timedelta(hours=1))
    shifted = step(start_time=datetime(2026, 3, 1, 13, 0, tzinfo=paris))
    assert shifted.start_time == NOON and shifted.start_time.tzinfo == timezone.utc
    from_text = step(start_time="2026-03-01T12:00:00.000250+00:00")
    assert from_text.start_time.microsecond == 250


def test_step_defaults_and_fields() -> None:
    plain = step()
    assert (plain.status, plain.parent_id, plain.step_order, plain.metadata) == (
        "running", None, 0, {}
    )  # fmt: skip
    assert plain.evaluations == [] and plain.llm is None
    assert set(xray.Step.model_fields) == {
        "step_id", "trace_id", "parent_id", "name", "step_order", "input", "output", "reasoning",
        "metadata", "status", "error", "start_time", "end_time", "duration_ms",
    }  # fmt: skip
    assert set(xray.Trace.model_fields) == {
        "trace_id", "name", "status", "start_time", "end_time", "duration_ms", "metadata",
        "steps", "run_id", "test_id",
    }  # fmt: skip
    assert set(xray.Run.model_fields) == {
        "run_id", "started_at", "finished_at", "git_commit", "git_branch", "git_dirty",
        "command", "counts", "status", "host", "pid",
    }  # fmt: skip


def test_evaluations_and_llm_are_read_from_metadata() -> None:
    read = step(metadata={
        "evaluations": [
            {"item_id": 17, "qualified": False, "reasoning": "r",
             "filters": [{"name": "price", "passed": False, "detail": "low"},
                         {"name": "rating", "passed": True}]},
            {"not": "an evaluation"},
            {"item_id": "broken", "qualified": "maybe"},
        ],
        "llm": {"model": "m", "tokens_used": 3},
    })  # fmt: skip
    [evaluation] = read.evaluations  # malformed entries written by hand are skipped
    assert evaluation.item_id == "17"
    assert [f.name for f in evaluation.failed_filters] == ["price"]
    assert [f.name for f in evaluation.passed_filters] == ["rating"]
    assert read.llm == {"model": "m", "tokens_used": 3}
    assert step(metadata={"evaluations": "junk", "llm": "junk"}).evaluations == []
    assert step(metadata={"llm": "junk"}).llm is None


def test_models_round_trip_through_json() -> None:
    trace = xray.Trace(
        trace_id="t", name="n", start_time=NOON, steps=[step(status="failed", error="E: x")],
        run_id="r", test_id="tests/test_a.py::test_b",
    )  # fmt: skip
    assert xray.Trace.model_validate_json(trace.model_dump_json()) == trace
    run = xray.Run(run_id="r", started_at=NOON, git_commit="a" * 40, counts={"passed": 3})
    assert xray.Run.model_validate_json(run.model_dump_json()) == run


def test_decision_explain_without_filters_or_reasoning() -> None:
    decision = xray.Decision(item_id="A", step="pick", qualified=False)
    assert decision.explain() == "A was rejected in step 'pick'."
    assert not decision.rejected_by("anything")
