"""The recorder: trace and step contexts, timing, failures, helpers and context isolation."""

from __future__ import annotations

import asyncio
import enum
import gc
import os
import threading
import traceback
from collections.abc import Callable
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

import xray_core as xray
from xray_core.observers import add_observer, remove_observer
from xray_core.recorder import NULL_TRACE, format_error


@pytest.fixture
def memory() -> xray.MemoryStore:
    return xray.MemoryStore()


@pytest.fixture
def xr(memory: xray.MemoryStore) -> xray.XRay:
    return xray.XRay(store=memory)


def test_a_trace_records_steps_in_order_with_helpers(
    xr: xray.XRay, memory: xray.MemoryStore, record_pipeline: Callable[..., str]
) -> None:
    trace = memory.get_trace(record_pipeline(xr))
    assert trace is not None
    assert trace.status == "completed"
    assert trace.metadata == {"product_id": "P1"}
    assert [s.name for s in trace.steps] == ["keywords", "filter"]
    assert [s.step_order for s in trace.steps] == [0, 1]
    keywords = trace.step("keywords")
    assert keywords.input == {"title": "Steel bottle"}
    assert keywords.output == {"keywords": ["steel", "bottle"]}
    assert keywords.reasoning == "material and kind"
    assert keywords.llm == {"model": "mock-llm", "tokens_used": 42, "temperature": 0.2}
    assert [e.item_id for e in trace.step("filter").evaluations] == ["B0X", "B0Y"]


def test_times_are_aware_utc_and_durations_are_sub_millisecond_floats(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    with xr.trace("t") as trace:
        with trace.step("quick"):
            pass
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    step = stored.steps[0]
    for moment in (stored.start_time, stored.end_time, step.start_time, step.end_time):
        assert moment is not None and moment.tzinfo is not None
        assert moment.utcoffset() == timezone.utc.utcoffset(None)
    assert isinstance(step.duration_ms, float) and 0 <= step.duration_ms < 1.0
    assert stored.duration_ms is not None and stored.duration_ms >= step.duration_ms
    assert step.end_time is not None and step.end_time >= step.start_time


def test_a_failing_step_is_recorded_and_the_exception_propagates(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    with pytest.raises(KeyError, match="missing"):
        with xr.trace("t") as trace:
            with trace.step("ok"):
                pass
            with trace.step("boom"):
                raise KeyError("missing")
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.status == "failed"
    boom = stored.step("boom")
    assert boom.status == "failed"
    assert boom.error is not None
    first, *rest = boom.error.splitlines()
    assert first == "KeyError: 'missing'"
    assert rest[0] == "Traceback (most recent call last):"
    assert 'raise KeyError("missing")' in boom.error
    assert stored.step("ok").status == "completed"
    assert stored.metadata["error"].startswith("KeyError: 'missing'")


def test_a_failed_step_fails_its_trace_even_when_the_exception_is_caught(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    with xr.trace("t") as trace:
        try:
            with trace.step("flaky"):
                raise ValueError("once")
        except ValueError:
            pass
        with trace.step("after"):
            pass
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.status == "failed"
    assert [s.status for s in stored.steps] == ["failed", "completed"]


def test_an_exception_whose_str_raises_is_still_recorded(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    with pytest.raises(Nasty):
        with xr.trace("t") as trace:
            with trace.step("s"):
                raise Nasty()
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.steps[0].error is not None
    assert stored.steps[0].error.startswith("Nasty: <exception str() failed>")
    assert format_error(Nasty()).startswith("Nasty: ")


def test_names_that_are_not_text_never_raise(xr: xray.XRay, memory: xray.MemoryStore) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            return "Unprintable()"

    with xr.trace(Unprintable()) as trace:  # type: ignore[arg-type]
        with trace.step(Unprintable()):  # type: ignore[arg-type]
            pass
        with trace.step(7):  # type: ignore[arg-type]
            pass
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.name == "Unprintable()"
    assert [s.name for s in stored.steps] == ["Unprintable()", "7"]


def test_a_name_equal_to_one_seen_before_is_still_recorded_as_its_own_text(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    class Stage(str, enum.Enum):  # equal to "search", but str() gives "Stage.SEARCH"
        SEARCH = "search"

    class Loud(str):
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing")

        __hash__ = str.__hash__

    with xr.trace("search") as trace:
        built = "".join(("sea", "rch"))  # equal to a name seen before, another object
        names = ("search", Stage.SEARCH, "search", Loud("search"), ["search"], None, "s" * 20_000,
                 built)  # fmt: skip
        for name in names:
            with trace.step(name):  # type: ignore[arg-type]
                pass
    with xr.trace(Stage.SEARCH) as again:
        pass
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    recorded = [s.name for s in stored.steps]
    assert recorded[:6] == ["search", str(Stage.SEARCH), "search", "search", "['search']", "None"]
    assert recorded[6] == "s" * 10_000 + "...<truncated: 20000 chars>" and recorded[7] == "search"
    assert all(type(name) is str for name in recorded)
    again_stored = memory.get_trace(again.trace_id)
    assert again_stored is not None and again_stored.name == str(Stage.SEARCH)

def test_nested_steps_keep_their_parent(xr: xray.XRay, memory: xray.MemoryStore) -> None:
    with xr.trace("t") as trace:
        with trace.step("outer") as outer:
            with outer.step("explicit child") as child:
                with trace.step("implicit grandchild") as grandchild:
                    pass
            with trace.step("implicit child") as implicit:
                pass
        with trace.step("sibling") as sibling:
            pass
    assert child.record["parent_id"] == outer.step_id
    assert grandchild.record["parent_id"] == child.step_id
    assert implicit.record["parent_id"] == outer.step_id
    assert sibling.record["parent_id"] is None
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert [s.name for s in stored.steps] == [
        "outer", "explicit child", "implicit grandchild", "implicit child", "sibling"
    ]  # fmt: skip


def test_async_with_works_for_traces_and_steps(xr: xray.XRay, memory: xray.MemoryStore) -> None:
    async def main() -> str:
        async with xr.trace("async") as trace:
            async with trace.step("fetch") as step:
                await asyncio.sleep(0)
                step.set_output({"n": 1})
                async with step.step("parse") as sub:
                    sub.set_output("ok")
            with pytest.raises(RuntimeError):
                async with trace.step("fails"):
                    raise RuntimeError("async boom")
        return trace.trace_id

    stored = memory.get_trace(asyncio.run(main()))
    assert stored is not None
    assert [(s.name, s.status) for s in stored.steps] == [
        ("fetch", "completed"), ("parse", "completed"), ("fails", "failed")
    ]  # fmt: skip
    assert stored.steps[1].parent_id == stored.steps[0].step_id
    assert stored.status == "failed"


def test_helpers_convert_values_and_never_raise(xr: xray.XRay, memory: xray.MemoryStore) -> None:
    with xr.trace("t", metadata="not a dict") as trace:  # type: ignore[arg-type]
        trace.set_metadata({"when": {1, 2}})
        trace.set_metadata(["not", "a", "dict"])  # type: ignore[arg-type]
        with trace.step("s") as step:
            step.set_input({"ids": {3, 1, 2}})
            step.set_metadata({"k": b"\x00"})
            step.set_metadata(42)  # type: ignore[arg-type]
            step.set_reasoning(123)  # type: ignore[arg-type]
            step.add_evaluation(7, item_data=["a"], filters=[("odd",)], qualified=1,
                                reasoning={"why": "dict"})  # type: ignore[arg-type]
            step.add_evaluation("bad-filters", filters=3, qualified=True)
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    # a non-dict is kept under "value" (the second one replaced the first)
    assert stored.metadata == {"value": ["not", "a", "dict"], "when": [1, 2]}
    step = stored.steps[0]
    assert step.input == {"ids": [1, 2, 3]}
    assert step.metadata["k"] == "base64:AA=="
    assert step.metadata["value"] == 42
    assert step.reasoning == "123"
    evaluation, bad = step.evaluations
    assert evaluation.item_id == "7"
    assert evaluation.item_data == {"value": ["a"]}
    assert evaluation.qualified is True
    assert evaluation.reasoning == "{'why': 'dict'}"
    assert evaluation.filters[0].name == "['odd']"
    # filters that are not a list are one filter, named by their text, not passed
    assert [(f.name, f.passed) for f in bad.filters] == [("3", False)]


def test_a_disabled_recorder_records_nothing(memory: xray.MemoryStore) -> None:
    xr = xray.XRay(store=memory, enabled=False)
    with xr.trace("t") as trace:
        assert trace is NULL_TRACE
        with trace.step("s") as step:
            step.set_output(1)
            step.add_evaluation("x", qualified=True)
    assert memory.list_traces() == []


def test_threads_do_not_mix_steps(xr: xray.XRay, memory: xray.MemoryStore) -> None:
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        with xr.trace(f"thread-{index}") as trace:
            barrier.wait()
            for n in range(20):
                with xray.step(f"t{index}-s{n}") as step:  # ambient: must find *this* trace
                    step.set_output(n)
                    with xray.step(f"t{index}-s{n}-child"):
                        pass
            assert xray.current_trace() is trace

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traces = memory.list_traces()
    assert len(traces) == 8
    for trace in traces:
        index = trace.name.split("-")[1]
        assert len(trace.steps) == 40
        assert all(s.name.startswith(f"t{index}-") for s in trace.steps)
        by_id = {s.step_id: s for s in trace.steps}
        for step in trace.steps:
            if step.name.endswith("-child"):
                assert by_id[step.parent_id or ""].name == step.name.removesuffix("-child")


def test_fifty_concurrent_asyncio_traces_do_not_mix(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    async def one(index: int) -> None:
        async with xr.trace(f"task-{index}"):
            for n in range(5):
                async with xray.step(f"task-{index}-step-{n}") as step:
                    await asyncio.sleep(0.001 * ((index + n) % 3))
                    step.set_output(index)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(50)))

    asyncio.run(main())
    traces = memory.list_traces(limit=None)
    assert len(traces) == 50
    for trace in traces:
        index = int(trace.name.split("-")[1])
        assert [s.name for s in trace.steps] == [f"task-{index}-step-{n}" for n in range(5)]
        assert all(s.output == index and s.parent_id is None for s in trace.steps)


def test_tasks_spawned_inside_a_step_nest_under_it(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    async def child(n: int) -> None:
        with xray.step(f"child-{n}"):
            await asyncio.sleep(0)

    async def main() -> str:
        async with xr.trace("fan-out") as trace:
            async with trace.step("parent"):
                await asyncio.gather(*(child(n) for n in range(3)))
        return trace.trace_id

    stored = memory.get_trace(asyncio.run(main()))
    assert stored is not None
    parent = stored.step("parent")
    assert sorted(s.name for s in stored.steps if s.parent_id == parent.step_id) == [
        "child-0", "child-1", "child-2"
    ]  # fmt: skip


def test_a_step_left_in_another_context_does_not_crash(
    xr: xray.XRay, memory: xray.MemoryStore
) -> None:
    def steps() -> Any:  # a generator leaves its step in the caller's context
        with xr.trace("gen") as trace:
            with trace.step("yielding"):
                yield 1
            yield 2

    gen = steps()
    assert next(gen) == 1
    assert list(gen) == [2]
    assert xray.current_trace() is None and xray.current_step() is None
    [trace] = memory.list_traces()
    assert trace.steps[0].status == "completed"


def test_the_latest_observer_sees_traces_start_and_finish(xr: xray.XRay) -> None:
    seen: list[tuple[str, Any]] = []

    class Observer:
        def trace_started(self, record: dict[str, Any]) -> None:
            record["test_id"] = "tests/test_x.py::test_y"
            seen.append(("started", record["name"]))

        def trace_finished(self, trace: xray.TraceContext) -> None:
            seen.append(("finished", trace.to_model()))

    outer, inner = Observer(), Observer()
    add_observer(outer)
    add_observer(inner)
    try:
        with xr.trace("observed") as trace:
            with trace.step("s"):
                pass
    finally:
        remove_observer(inner)
        remove_observer(outer)
    assert len(seen) == 2  # only the most recent observer is told
    assert seen[0] == ("started", "observed")
    model = seen[1][1]
    assert isinstance(model, xray.Trace)
    assert model.test_id == "tests/test_x.py::test_y" and model.status == "completed"
    assert [s.name for s in model.steps] == ["s"]


def test_a_failing_observer_or_store_never_reaches_the_pipeline(xr: xray.XRay) -> None:
    class Broken:
        def trace_started(self, record: dict[str, Any]) -> None:
            raise RuntimeError("observer bug")

        def trace_finished(self, trace: xray.TraceContext) -> None:
            raise RuntimeError("observer bug")

    class BrokenStore(xray.MemoryStore):
        def save_step(self, record: dict[str, Any]) -> None:
            raise OSError("disk on fire")

    observer = Broken()
    add_observer(observer)
    try:
        with xray.XRay(store=BrokenStore()).trace("t") as trace:
            with trace.step("s") as step:
                step.set_output(1)
    finally:
        remove_observer(observer)
    assert trace.record["status"] == "completed"


def test_a_strict_store_failure_reaches_the_caller(db_path: Any) -> None:
    strict = xray.SQLiteStore(db_path, strict=True)
    strict.close()
    with pytest.raises(xray.StoreError, match="closed"):
        with xray.XRay(store=strict).trace("t"):
            pass


def test_a_strict_store_failure_never_hides_the_pipelines_own_exception(db_path: Any) -> None:
    strict = xray.SQLiteStore(db_path, strict=True)
    xr = xray.XRay(store=strict)
    with pytest.raises(RuntimeError, match="pipeline bug"):  # not the StoreError of the trace end
        with xr.trace("t") as trace:
            strict.close()  # the store goes away while the trace runs
            with pytest.raises(ZeroDivisionError):  # not the StoreError of the step
                with trace.step("s"):
                    1 / 0  # noqa: B018
            with pytest.raises(xray.StoreError, match="closed"):  # a clean step: strict raises
                with trace.step("fine"):
                    pass
            raise RuntimeError("pipeline bug")


def test_a_bounded_memory_store_keeps_the_newest_traces() -> None:
    store = xray.MemoryStore(max_traces=3)
    xr = xray.XRay(store=store)
    for n in range(5):
        with xr.trace(f"t{n}") as trace:
            with trace.step("s"):
                pass
    assert [t.name for t in store.list_traces()] == ["t2", "t3", "t4"]
    store.save_traces(store.list_traces() * 2)  # whole traces (an import) count the same way
    assert store.save_traces([store.list_traces()[0].model_copy(update={"trace_id": "x"})]) == 1
    assert len(store.list_traces()) == 3 and store.get_trace("x") is not None


def test_to_model_gives_the_trace_as_recorded_so_far(xr: xray.XRay) -> None:
    with xr.trace("live") as trace:
        with trace.step("done"):
            pass
        with trace.step("open"):
            model = trace.to_model()
    assert model.status == "running" and [s.name for s in model.steps] == ["done"]
    assert trace.to_model().status == "completed"


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_a_forked_child_adding_steps_to_the_open_trace_never_reuses_step_ids(
    tmp_path: Path,
) -> None:
    store = xray.SQLiteStore(tmp_path / "forked.db", strict=True)
    with xray.XRay(store=store).trace("forked") as trace:
        with trace.step("before fork"):
            pass
        pid = os.fork()
        if pid == 0:  # the child: add steps to the inherited trace, save them, leave at once
            status = 1
            try:
                for name in ("child 1", "child 2"):
                    with trace.step(name):
                        pass
                store.flush()
                status = 0
            except BaseException:  # shown by the parent's assertion
                (tmp_path / "child.txt").write_text(traceback.format_exc(), encoding="utf-8")
            finally:
                os._exit(status)
        for name in ("parent 1", "parent 2"):  # the parent goes on counting from where it was
            with trace.step(name):
                pass
        _, status = os.waitpid(pid, 0)
        failure = tmp_path / "child.txt"
        assert os.waitstatus_to_exitcode(status) == 0, (
            failure.read_text(encoding="utf-8") if failure.exists() else "no traceback"
        )
    stored = store.get_trace(trace.trace_id)
    store.close()
    assert stored is not None
    assert sorted(s.name for s in stored.steps) == [
        "before fork", "child 1", "child 2", "parent 1", "parent 2"
    ]  # fmt: skip
    assert len({s.step_id for s in stored.steps}) == 5


class _SeeingStore(xray.MemoryStore):
    """A memory store of one's own that sees each trace start and step (no fast way in)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[str] = []

    def start_trace(self, record: dict[str, Any]) -> None:
        self.seen.append(f"start {record['name']}")
        super().start_trace(record)

    def save_step(self, record: dict[str, Any]) -> None:
        self.seen.append(f"step {record['name']}")
        super().save_step(record)


class _StepCounter(xray.MemoryStore):
    """Overrides save_step only."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def save_step(self, record: dict[str, Any]) -> None:
        self.steps += 1
        super().save_step(record)


def test_a_memory_store_subclass_sees_every_trace_start_and_step() -> None:
    # A plain MemoryStore takes the recorder's steps through its trace's list (no save_step
    # call); a subclass with a start_trace or save_step of its own is called for each.
    for store in (_SeeingStore(), _SeeingStore(max_traces=5)):
        with xray.XRay(store=store).trace("t") as trace:
            with trace.step("a"), trace.step("b"):
                pass
        assert store.seen == ["start t", "step b", "step a"]
        stored = store.get_trace(trace.trace_id)
        assert stored is not None and [s.name for s in stored.steps] == ["a", "b"]  # by order
    counter = _StepCounter()
    with xray.XRay(store=counter).trace("t") as trace:
        with trace.step("a"):
            pass
    assert counter.steps == 1
    assert type(counter)._begin_trace is None and xray.MemoryStore._begin_trace is not None


def test_a_spy_on_one_memory_store_sees_every_trace_start_and_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A test replacing this very store's methods (not its class's) sees every call, as it
    # did when each step was saved through save_step.
    store = xray.MemoryStore()
    seen: list[str] = []
    start, save = store.start_trace, store.save_step
    monkeypatch.setattr(store, "start_trace", lambda r: (seen.append("start"), start(r))[1])
    monkeypatch.setattr(store, "save_step", lambda r: (seen.append(r["name"]), save(r))[1])
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("a"), trace.step("b"):
            pass
    assert seen == ["start", "b", "a"]
    stored = store.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["a", "b"]


def test_a_spy_set_or_removed_between_traces_is_seen_from_the_next_trace() -> None:
    # The recorder reads one attribute a trace (store._begin), which assignment and deletion of
    # this very store's start_trace / save_step / end_trace keep up to date.
    store = xray.MemoryStore()
    recorder = xray.XRay(store=store)
    with recorder.trace("before"), recorder.trace("before") as first:
        pass  # a nested trace too: both kept without a call of save_step
    seen: list[str] = []
    save = store.save_step
    store.save_step = lambda r: (seen.append(r["name"]), save(r))[1]  # type: ignore[method-assign]
    with recorder.trace("spied") as spied, spied.step("a"):
        pass
    assert seen == ["a"]
    assert store._begin is None
    del store.save_step
    assert store._begin is xray.MemoryStore._begin_trace
    with recorder.trace("after") as after, after.step("b"):
        pass
    assert seen == ["a"]  # the store's own way in again: its list, no save_step call
    for trace, names in ((first, []), (spied, ["a"]), (after, ["b"])):
        stored = store.get_trace(trace.trace_id)
        assert stored is not None and [s.name for s in stored.steps] == names
    end, start = store.end_trace, store.start_trace
    store.end_trace = lambda r: end(r)  # type: ignore[method-assign]
    store.start_trace = lambda r: start(r)  # type: ignore[method-assign]
    del store.end_trace
    assert store._begin is None  # start_trace is still replaced
    store.start_trace = start  # type: ignore[method-assign]  # put back, as monkeypatch undoes
    assert store._begin is xray.MemoryStore._begin_trace  # its own method, bound to it


class _SpiedFromItsInit(xray.MemoryStore):
    """Replaces its save_step on the instance before the base class's __init__ runs."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.save_step = self._seeing  # type: ignore[method-assign]
        super().__init__()

    def _seeing(self, record: dict[str, Any]) -> None:
        self.names.append(record["name"])
        xray.MemoryStore.save_step(self, record)


def test_a_method_replaced_before_the_store_s_init_is_called_for_every_step() -> None:
    store = _SpiedFromItsInit()
    with xray.XRay(store=store).trace("t") as trace, trace.step("a"), trace.step("b"):
        pass
    assert store.names == ["b", "a"]
    stored = store.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["a", "b"]


def test_a_spy_by_mock_patch_sees_every_step_and_is_undone() -> None:
    from unittest import mock

    store = xray.MemoryStore()
    with mock.patch.object(store, "save_step", wraps=store.save_step) as spy:
        with xray.XRay(store=store).trace("t") as trace, trace.step("a"), trace.step("b"):
            pass
    assert [c.args[0]["name"] for c in spy.call_args_list] == ["b", "a"]
    assert store._begin is xray.MemoryStore._begin_trace
    stored = store.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["a", "b"]


@pytest.mark.parametrize("max_traces", [None, 3])
def test_a_memory_store_keeps_each_step_as_it_ends(max_traces: int | None) -> None:
    store = xray.MemoryStore(max_traces=max_traces)
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("outer") as outer:
            with trace.step("inner"):
                pass
            during = store.get_trace(trace.trace_id)
            assert during is not None and [s.name for s in during.steps] == ["inner"]
            outer.set_output({"n": 1})
    stored = store.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["outer", "inner"]  # by order
    assert stored.steps[0].output == {"n": 1} and stored.steps[1].parent_id == outer.step_id


def test_steps_of_a_trace_dropped_from_a_bounded_store_are_dropped_with_it() -> None:
    # As save_step does: a step ending after its trace was dropped (beyond max_traces) is not
    # kept anywhere; the trace's end stores the trace again, as the newest.
    store = xray.MemoryStore(max_traces=1)
    xr = xray.XRay(store=store)
    with xr.trace("first") as first:
        with first.step("before"):
            pass
        with xr.trace("second") as second:  # drops "first"
            pass
        assert store.get_trace(first.trace_id) is None
        with first.step("after"):
            pass
        assert store.get_trace(first.trace_id) is None
    stored = store.get_trace(first.trace_id)
    assert stored is not None and stored.steps == []
    assert store.get_trace(second.trace_id) is None


#: the keys of the records a store of one's own receives, in this order (docs/sdk.md)
TRACE_KEYS = ["trace_id", "name", "status", "start_time", "end_time", "duration_ms", "metadata",
              "run_id", "test_id"]  # fmt: skip
STEP_KEYS = ["step_id", "trace_id", "parent_id", "name", "step_order", "input", "output",
             "reasoning", "metadata", "status", "error", "start_time", "end_time",
             "duration_ms"]  # fmt: skip


class _KeepingStore(xray.MemoryStore):
    """A store of one's own (through every method the recorder calls): keeps a copy of each
    record it is given, as it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list[tuple[str, dict[str, Any]]] = []

    def start_trace(self, record: dict[str, Any]) -> None:
        self.given.append(("start", dict(record)))
        super().start_trace(record)

    def save_step(self, record: dict[str, Any]) -> None:
        self.given.append(("step", dict(record)))
        super().save_step(record)

    def end_trace(self, record: dict[str, Any]) -> None:
        self.given.append(("end", dict(record)))
        super().end_trace(record)


class _EndOnly(xray.MemoryStore):
    """Overrides end_trace only: it receives the trace record with every key."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: list[dict[str, Any]] = []

    def end_trace(self, record: dict[str, Any]) -> None:
        self.ended.append(dict(record))
        super().end_trace(record)


def _record_pipeline(recorder: xray.XRay) -> str:
    with recorder.trace("t") as trace:
        with trace.step("plain", input={"q": 1}) as step:
            step.set_output({"ids": [1]})
        with trace.step("with metadata") as step:
            step.add_llm_metadata(model="m", tokens_used=3)
            step.add_evaluation("c1", {"price": 2}, [{"name": "f", "passed": True, "detail": None}])
    return trace.trace_id


def test_a_store_of_ones_own_receives_records_with_every_key_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A MemoryStore keeps a record without "metadata" until something is written there (the
    # garbage collector then never traverses it); a store whose methods the recorder calls
    # receives every key, in the same order, an empty metadata dict included, as before.
    keeping = _KeepingStore()
    trace_id = _record_pipeline(xray.XRay(store=keeping))
    assert [what for what, _ in keeping.given] == ["start", "step", "step", "end"]
    for what, record in keeping.given:
        assert list(record) == (STEP_KEYS if what == "step" else TRACE_KEYS), what
    (_, start), (_, plain), (_, rich), (_, end) = keeping.given
    assert start["metadata"] == {} and end["metadata"] == {} and plain["metadata"] == {}
    assert rich["metadata"]["llm"] == {"model": "m", "tokens_used": 3, "temperature": None}
    assert rich["metadata"]["evaluations"][0]["item_id"] == "c1"
    # an end_trace of its own alone is called with the whole record too
    ending = _EndOnly()
    _record_pipeline(xray.XRay(store=ending))
    assert [list(r) for r in ending.ended] == [TRACE_KEYS] and ending.ended[0]["metadata"] == {}
    # so is a spy on one store's own methods
    spied = xray.MemoryStore()
    seen: list[dict[str, Any]] = []
    save = spied.save_step
    monkeypatch.setattr(spied, "save_step", lambda r: (seen.append(dict(r)), save(r))[1])
    _record_pipeline(xray.XRay(store=spied))
    assert [list(r) for r in seen] == [STEP_KEYS, STEP_KEYS] and seen[0]["metadata"] == {}
    # and what is read back is the same from every store
    plain_store = xray.MemoryStore()
    plain_id = _record_pipeline(xray.XRay(store=plain_store))
    kept, read = keeping.get_trace(trace_id), plain_store.get_trace(plain_id)
    assert kept is not None and read is not None
    assert kept.metadata == read.metadata == {}
    assert [s.metadata for s in kept.steps] == [s.metadata for s in read.steps]
    assert read.steps[0].metadata == {} and read.steps[1].llm is not None
    assert [e.item_id for e in read.steps[1].evaluations] == ["c1"]


def test_metadata_written_to_a_memory_store_record_is_kept_and_read_back() -> None:
    # Every way of writing metadata makes the record's dict when it has none yet.
    store = xray.MemoryStore()
    xr = xray.XRay(store=store)
    with pytest.raises(RuntimeError), xr.trace("t") as trace:
        trace.set_metadata({"request": "r-1"})
        with trace.step("a") as step:
            step.set_metadata({"source": "catalog"})
        with trace.step("b"):
            pass
        with trace.step("c") as step:
            step.add_evaluation("x", {"k": 1}, [])
        with trace.step("d"):
            raise RuntimeError("boom")
    with xr.trace("given", metadata={"m": 1}) as given:
        pass
    stored, other = store.get_trace(trace.trace_id), store.get_trace(given.trace_id)
    assert stored is not None and other is not None
    assert stored.metadata["request"] == "r-1" and "RuntimeError: boom" in stored.metadata["error"]
    assert [s.metadata for s in stored.steps][:2] == [{"source": "catalog"}, {}]
    assert [e.item_id for e in stored.steps[2].evaluations] == ["x"]
    assert stored.steps[3].status == "failed" and stored.steps[3].metadata == {}
    assert other.metadata == {"m": 1}
    assert trace.to_model().metadata["request"] == "r-1"


def test_a_memory_store_keeps_records_without_metadata_untracked_by_the_collector() -> None:
    # The point of leaving "metadata" out until written: a record holding only text, numbers
    # and bytes is not tracked, so the collections every few traces do not traverse it.
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("t") as trace:
        with trace.step("plain", input={"q": [1, 2]}) as step:
            step.set_output({"ids": ["a"]})
            step.set_reasoning("why")
        with trace.step("rich") as step:
            step.set_metadata({"k": 1})
    plain, rich = trace.steps
    assert not gc.is_tracked(trace.record) and not gc.is_tracked(plain)
    assert gc.is_tracked(rich) and rich["metadata"] == {"k": 1}


class _DuckStore:
    """A store that is no ``Store`` subclass, only the three methods the recorder calls."""

    def __init__(self) -> None:
        self.given: list[tuple[str, list[str]]] = []

    def start_trace(self, record: dict[str, Any]) -> None:
        self.given.append(("start", list(record)))

    def save_step(self, record: dict[str, Any]) -> None:
        self.given.append(("step", list(record)))

    def end_trace(self, record: dict[str, Any]) -> None:
        self.given.append(("end", list(record)))


def test_a_store_that_is_no_store_subclass_receives_every_record_with_every_key() -> None:
    store = _DuckStore()
    _record_pipeline(xray.XRay(store=store))  # type: ignore[arg-type]
    assert [what for what, _ in store.given] == ["start", "step", "step", "end"]
    assert all("metadata" in keys for _, keys in store.given)
    assert store.given[1][1] == list(xray.recorder._STEP_RECORD)
