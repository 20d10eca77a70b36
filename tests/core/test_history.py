"""``decision_histories``: each run's verdict on an item, changes only between runs that ran it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import xray_core as xray
from xray_core.history import RunRecord, decision_histories

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
TEST = "tests/test_pick.py::test_pick"


def recorded(*verdicts: bool | None, test_id: str = TEST) -> list[xray.Trace]:
    """One trace per verdict (None: the item is not evaluated in that trace), recorded for real."""
    store = xray.MemoryStore()
    xr = xray.XRay(store=store)
    for qualified in verdicts:
        with xr.trace("pick") as trace:
            trace.record["test_id"] = test_id
            with trace.step("filter") as step:
                step.add_evaluation("B0Y", filters=[{"name": "price", "passed": True}],
                                    qualified=True)  # fmt: skip
                if qualified is not None:
                    step.add_evaluation(
                        "B0X", qualified=qualified,
                        filters=[{"name": "price", "passed": qualified, "detail": "9.50 vs 10"}],
                    )  # fmt: skip
    return store.list_traces(None)


def record(index: int, traces: list[xray.Trace], *, tests: tuple[str, ...] = (TEST,),
           status: str = "completed") -> RunRecord:  # fmt: skip
    run = xray.Run(run_id=f"run{index}", started_at=T0 + timedelta(days=index),
                   git_commit=f"{index:040x}", status=status)  # fmt: skip
    return RunRecord(run, frozenset(tests), traces)


def test_verdicts_run_by_run_and_where_they_changed() -> None:
    records = [
        record(0, recorded(False)),
        record(1, recorded(False)),
        record(2, recorded(True), tests=(), status="interrupted"),  # cut before the test finished
        record(3, recorded(True)),
        record(4, recorded(None)),
        record(5, recorded(True, False)),
    ]
    histories = {h.item_id: h for h in decision_histories(records)}
    b0x = histories["B0X"]
    assert [(o.verdict, o.changed) for o in b0x.observations] == [
        ("rejected by price", False), ("rejected by price", False),
        ("not run", False),  # never a change, whatever its traces say
        ("qualified", True), ("not evaluated", True),
        ("mixed (qualified x1, rejected by price x1)", True),
    ]  # fmt: skip
    assert b0x.observations[0].detail == "price: 9.50 vs 10" and b0x.changes == 3
    assert b0x.current is not None and b0x.current.first.run.run_id == "run5"
    assert b0x.previous is not None and b0x.previous.verdict == "not evaluated"
    assert histories["B0Y"].changes == 0 and histories["B0Y"].current is not None
    assert len(histories["B0Y"].current.observations) == 5


def test_a_test_absent_from_a_run_is_not_run_there() -> None:
    records = [record(0, recorded(True)), record(1, [], tests=()), record(2, recorded(True))]
    b0x = {h.item_id: h for h in decision_histories(records)}["B0X"]
    assert [o.state for o in b0x.observations] == ["decided", "not run", "decided"]
    assert b0x.changes == 0


def ranked(order: list[str]) -> list[xray.Trace]:
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("pick") as trace:
        trace.record["test_id"] = TEST
        with trace.step("filter") as step:
            for item in order:
                step.add_evaluation(item, filters=[{"name": "price", "passed": True}],
                                    qualified=True)  # fmt: skip
        with trace.step("rank") as step:
            step.set_output({"ranking": order})
    return store.list_traces(None)


def test_a_move_in_a_ranking_is_shown_without_being_a_verdict_change() -> None:
    records = [record(0, ranked(["B0A", "B0B", "B0X"])), record(1, [], tests=()),
               record(2, ranked(["B0X", "B0A", "B0B"])), record(3, ranked(["B0X", "B0A", "B0B"]))]
    b0x = {h.item_id: h for h in decision_histories(records)}["B0X"]
    assert [o.moves for o in b0x.observations] == [
        (), (), ("rank.output.ranking: 'B0X' moved #3 -> #1",), ()]
    assert b0x.changes == 0
    b0a = {h.item_id: h for h in decision_histories(records)}["B0A"]
    assert all(o.moves == () for o in b0a.observations)  # shifted, not moved: one change only
