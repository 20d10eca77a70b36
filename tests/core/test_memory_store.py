"""MemoryStore: thread safety of its lock-free recording path, bounds, what it gives back."""

from __future__ import annotations

import threading

import xray_core as xray


def test_reading_while_threads_record_never_fails_and_loses_nothing() -> None:
    store = xray.MemoryStore()  # unbounded: start_trace takes no lock
    recorder = xray.XRay(store=store)
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def record(index: int) -> None:
        try:
            for n in range(150):
                with recorder.trace(f"w{index}-{n}") as trace:
                    with trace.step("s", input={"n": n}) as step:
                        step.set_output([n])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(len(store.list_traces(limit=None)))
                store.trace_ids_with_prefix("0")
                store.delete_run("no such run")  # iterates every trace under the lock
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    workers = [threading.Thread(target=record, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    reader.join()
    assert errors == []
    assert seen and seen == sorted(seen)  # a reader never sees a trace vanish
    traces = store.list_traces(limit=None)
    assert len(traces) == 600 and len({t.trace_id for t in traces}) == 600
    assert all([s.output for s in t.steps] == [[int(t.name.split("-")[1])]] for t in traces)


def test_a_bound_set_after_the_store_was_made_applies_to_the_next_trace() -> None:
    store = xray.MemoryStore()
    recorder = xray.XRay(store=store)
    for n in range(4):
        with recorder.trace(f"t{n}"):
            pass
    store.max_traces = 2
    with recorder.trace("t4"):
        pass
    assert [t.name for t in store.list_traces()] == ["t3", "t4"]


def test_a_trace_started_again_becomes_the_newest_with_no_steps() -> None:
    store = xray.MemoryStore(max_traces=2)
    recorder = xray.XRay(store=store)
    with recorder.trace("first") as first:
        with first.step("s"):
            pass
    with recorder.trace("second"):
        pass
    store.start_trace(dict(first.record))  # the same trace id again: it moves to the end
    stored = store.get_trace(first.trace_id)
    assert stored is not None and stored.steps == []
    with recorder.trace("third"):
        pass
    assert sorted(t.name for t in store.list_traces()) == ["first", "third"]
