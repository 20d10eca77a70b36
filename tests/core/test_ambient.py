"""The ambient API: module-level trace/step, the step decorator, configure and the environment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import xray_core as xray
from xray_core import ambient
from xray_core.recorder import NullStep


@pytest.fixture
def memory() -> xray.MemoryStore:
    store = xray.MemoryStore()
    xray.configure(store=store)
    return store


def test_step_as_a_context_manager_records_into_the_current_trace(
    memory: xray.MemoryStore,
) -> None:
    with xray.trace("ambient", metadata={"k": "v"}) as trace:
        with xray.step("first", input={"q": 1}) as step:
            step.set_output("out")
            with xray.step("nested"):
                pass
        with xray.step() as unnamed:
            unnamed.set_reasoning("no name given")
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert [(s.name, s.input) for s in stored.steps] == [
        ("first", {"q": 1}), ("nested", None), ("step", None)
    ]  # fmt: skip
    assert stored.steps[1].parent_id == stored.steps[0].step_id
    assert stored.metadata == {"k": "v"}


def test_step_outside_a_trace_is_a_no_op(memory: xray.MemoryStore) -> None:
    with xray.step("lonely", input={"x": 1}) as step:
        assert isinstance(step, NullStep)
        step.set_output(1)
        step.add_evaluation("a", qualified=True)
        with step.step("child") as child:
            child.set_reasoning("ignored")
    assert memory.list_traces() == []


def test_the_decorator_records_arguments_and_return_value(memory: xray.MemoryStore) -> None:
    @xray.step("rank")
    def rank(items: list[int], *, reverse: bool = False) -> list[int]:
        return sorted(items, reverse=reverse)

    @xray.step
    def bare(x: int) -> int:
        return x * 2

    class Ranker:
        @xray.step("method")
        def run(self, n: int) -> int:
            return n + 1

    assert rank([3, 1, 2]) == [1, 2, 3]  # outside a trace: a plain call
    with xray.trace("decorated") as trace:
        assert rank([3, 1, 2], reverse=True) == [3, 2, 1]
        assert bare(4) == 8
        assert Ranker().run(1) == 2
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert len(memory.list_traces()) == 1
    first, second, third = stored.steps
    assert (first.name, first.input, first.output) == (
        "rank", {"items": [3, 1, 2], "reverse": True}, [3, 2, 1]
    )  # fmt: skip
    assert second.name.endswith("bare") and second.input == {"x": 4} and second.output == 8
    assert third.input == {"n": 1}  # self is left out


def test_the_decorator_works_on_async_functions(memory: xray.MemoryStore) -> None:
    @xray.step("fetch")
    async def fetch(n: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"n": n}

    @xray.step("explode")
    async def explode() -> None:
        raise LookupError("nothing here")

    async def main() -> str:
        assert await fetch(0) == {"n": 0}  # outside a trace
        async with xray.trace("async-decorated") as trace:
            await asyncio.gather(fetch(1), fetch(2))
            with pytest.raises(LookupError):
                await explode()
        return trace.trace_id

    stored = memory.get_trace(asyncio.run(main()))
    assert stored is not None
    assert sorted((s.input["n"], s.output["n"]) for s in stored.steps[:2]) == [(1, 1), (2, 2)]
    assert stored.steps[2].status == "failed"
    assert stored.steps[2].error is not None
    assert stored.steps[2].error.startswith("LookupError: nothing here")


def test_a_decorated_function_that_raises_records_a_failed_step(
    memory: xray.MemoryStore,
) -> None:
    @xray.step("divide")
    def divide(a: int, b: int) -> float:
        return a / b

    with pytest.raises(ZeroDivisionError):
        with xray.trace("t") as trace:
            divide(1, 0)
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.status == "failed"
    assert stored.steps[0].error is not None
    assert stored.steps[0].error.splitlines()[0] == "ZeroDivisionError: division by zero"


def test_the_decorator_works_on_methods_classmethods_and_staticmethods(
    memory: xray.MemoryStore,
) -> None:
    class Ranker:
        @xray.step("method")
        def method(self, x: int) -> int:
            return x * 2

        @xray.step("under")  # below @classmethod: the usual order
        @classmethod
        def under(cls, x: int) -> int:
            return x + 1

        @xray.step  # above @staticmethod, named after the function
        @staticmethod
        def static(x: int) -> int:
            return x - 1

    with xray.trace("t") as trace:
        assert (Ranker().method(3), Ranker.under(4), Ranker().static(5)) == (6, 5, 4)
    assert (Ranker.under(1), Ranker.static(1)) == (2, 0)  # outside a trace: plain calls
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.status == "completed"
    assert [(s.name, s.input, s.output) for s in stored.steps] == [
        ("method", {"x": 3}, 6), ("under", {"x": 4}, 5), (Ranker.static.__qualname__, {"x": 5}, 4),
    ]  # fmt: skip


def test_a_decorated_generator_is_one_step_over_its_whole_iteration(
    memory: xray.MemoryStore,
) -> None:
    @xray.step("search")
    def search(keyword: str) -> Iterator[str]:
        with xray.step("page"):  # the generator's own steps nest under it
            pass
        yield f"{keyword}-1"
        yield f"{keyword}-2"

    with xray.trace("t") as trace:
        found = []
        for item in search("bottle"):
            with xray.step("consume"):  # the consumer's steps do not
                found.append(item)
    assert found == ["bottle-1", "bottle-2"]
    assert list(search("x")) == ["x-1", "x-2"]  # outside a trace: the plain generator
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.status == "completed"
    outer, page, consume, _ = stored.steps
    assert (outer.name, outer.input, outer.output) == ("search", {"keyword": "bottle"},
                                                       ["bottle-1", "bottle-2"])  # fmt: skip
    assert page.parent_id == outer.step_id and consume.parent_id is None


def test_a_generator_stopped_early_is_completed_and_one_that_raises_failed(
    memory: xray.MemoryStore,
) -> None:
    @xray.step("numbers")
    def numbers(stop: int) -> Iterator[int]:
        for n in range(100):
            if n == stop:
                raise ValueError(f"stop at {n}")
            yield n

    with xray.trace("early") as trace:
        for n in numbers(50):
            if n == 2:
                break
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.status == "completed"
    assert (stored.steps[0].status, stored.steps[0].output) == ("completed", [0, 1, 2])
    with pytest.raises(ValueError, match="stop at 1"):
        with xray.trace("raising") as trace:
            list(numbers(1))
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.steps[0].status == "failed"
    assert stored.steps[0].output == [0]


def test_a_decorated_async_generator_is_one_step_over_its_iteration(
    memory: xray.MemoryStore,
) -> None:
    @xray.step("stream")
    async def stream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main() -> tuple[str, list[int], list[int]]:
        async with xray.trace("t") as trace:
            inside = [i async for i in stream(3)]
            async with contextlib.aclosing(stream(9)) as early:
                async for i in early:
                    if i == 1:
                        break
        outside = [i async for i in stream(2)]
        return trace.trace_id, inside, outside

    trace_id, inside, outside = asyncio.run(main())
    assert (inside, outside) == ([0, 1, 2], [0, 1])
    stored = memory.get_trace(trace_id)
    assert stored is not None and stored.status == "completed"
    assert [(s.name, s.status, s.output) for s in stored.steps] == [
        ("stream", "completed", [0, 1, 2]), ("stream", "completed", [0, 1]),
    ]  # fmt: skip


def test_a_call_with_wrong_arguments_fails_its_step_without_an_xray_error(
    memory: xray.MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    @xray.step("pick")
    def pick(item: str) -> str:
        return item

    with pytest.raises(TypeError):
        with xray.trace("t") as trace:
            pick("B0X", "extra")  # type: ignore[call-arg]
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert (stored.steps[0].status, stored.steps[0].input) == (
        "failed", {"args": ["B0X", "extra"], "kwargs": {}}
    )  # fmt: skip
    assert not [r for r in caplog.records if r.name == "xray_core"]


def test_a_context_manager_from_step_can_also_decorate_inside_a_trace(
    memory: xray.MemoryStore,
) -> None:
    with xray.trace("t") as trace:
        double = xray.step("double")(lambda x: 2 * x)
        assert double(3) == 6
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert [(s.name, s.output) for s in stored.steps] == [("double", 6)]


def test_configure_with_a_store_keeps_recording_on() -> None:
    first, second = xray.MemoryStore(), xray.MemoryStore()
    assert xray.configure(store=first).enabled is True
    with xray.trace("one"):
        pass
    assert xray.configure(store=second).enabled is True
    with xray.trace("two"):
        pass
    assert [t.name for t in first.list_traces()] == ["one"]
    assert [t.name for t in second.list_traces()] == ["two"]
    assert xray.get_recorder().store is second


def test_configure_enabled_switches_recording_and_keeps_the_store() -> None:
    store = xray.MemoryStore()
    xray.configure(store=store)
    xray.configure(enabled=False)
    assert xray.get_recorder().store is store
    with xray.trace("off") as trace:
        with xray.step("s") as step:
            assert isinstance(step, NullStep)
    assert trace.trace_id is None
    xray.configure(store=xray.MemoryStore())  # a new store alone does not switch it back on
    assert xray.get_recorder().enabled is False
    xray.configure(store=store, enabled=True)
    with xray.trace("on"):
        pass
    assert [t.name for t in store.list_traces()] == ["on"]


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "FALSE", " Off "])
def test_xray_enabled_false_words_turn_recording_off(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XRAY_ENABLED", value)
    assert xray.get_recorder().enabled is False
    with xray.trace("t") as trace:
        assert trace.trace_id is None
    assert xray.configure(store=xray.MemoryStore()).enabled is False  # the switch wins


@pytest.mark.parametrize("value", ["", "1", "true", "yes", "on", "anything"])
def test_other_xray_enabled_values_leave_recording_on(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XRAY_ENABLED", value)
    assert xray.get_recorder().enabled is True
    assert ambient.enabled_from_env({"XRAY_ENABLED": value}) is True


def test_without_xray_db_the_default_store_is_a_bounded_memory_store() -> None:
    store = xray.get_recorder().store
    assert isinstance(store, xray.MemoryStore) and store.max_traces == 1000
    assert xray.get_recorder() is xray.get_recorder()


def test_xray_db_records_into_that_sqlite_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "nested" / "env.db"
    monkeypatch.setenv("XRAY_DB", str(path))
    with xray.trace("from-env") as trace:
        with xray.step("s"):
            pass
    store = xray.get_recorder().store
    assert isinstance(store, xray.SQLiteStore) and store.path == path
    store.close()
    with xray.SQLiteStore(path, strict=True) as reader:
        stored = reader.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["s"]


def test_configure_during_a_trace_leaves_that_trace_in_its_store() -> None:
    first, second = xray.MemoryStore(), xray.MemoryStore()
    xray.configure(store=first)
    with xray.trace("open") as trace:
        xray.configure(store=second)
        with xray.step("after the switch"):
            pass
    with xray.trace("next"):
        pass
    stored = first.get_trace(trace.trace_id)
    assert stored is not None and [s.name for s in stored.steps] == ["after the switch"]
    assert [t.name for t in second.list_traces()] == ["next"]


def test_with_recording_off_xray_db_is_never_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "nested" / "env.db"
    monkeypatch.setenv("XRAY_DB", str(path))
    monkeypatch.setenv("XRAY_ENABLED", "off")
    with xray.trace("off"):
        with xray.step("s"):
            pass
    assert not path.parent.exists()  # a read-only production box logs nothing either
    store = xray.configure(enabled=True).store  # turned on later: XRAY_DB is used
    assert isinstance(store, xray.SQLiteStore) and store.path == path
    store.close()


def test_xray_db_is_stripped_and_expands_the_home_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XRAY_DB", " ~/traces.db ")
    store = xray.get_recorder().store
    assert isinstance(store, xray.SQLiteStore) and store.path == tmp_path / "traces.db"
    store.close()
    monkeypatch.setenv("XRAY_DB", "  ")
    assert isinstance(xray.configure(enabled=True).store, xray.SQLiteStore)  # kept
    monkeypatch.setattr(ambient, "_default", None)
    assert isinstance(xray.get_recorder().store, xray.MemoryStore)  # blank: no file named " "


def test_an_unusable_xray_db_never_breaks_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XRAY_DB", str(tmp_path))  # a directory
    with xray.trace("t"):
        with xray.step("s") as step:
            step.set_output(1)
    store = xray.get_recorder().store
    assert store.errors >= 1


class Ranker:
    @xray.step
    def rank(self, items: list[str]) -> list[str]:
        return sorted(items)


@xray.step
def module_level(x: int) -> int:
    return x


def make_nested() -> object:
    @xray.step
    def inner(x: int) -> int:
        return x

    return inner


def test_a_decorator_without_a_name_uses_the_qualname(memory: xray.MemoryStore) -> None:
    inner = make_nested()
    with xray.trace("named") as trace:
        Ranker().rank(["b", "a"])
        module_level(1)
        inner(2)  # type: ignore[operator]
        xray.step()(len)("abc")  # a builtin has a __qualname__ too
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert [s.name for s in stored.steps] == [
        "Ranker.rank", "module_level", "make_nested.<locals>.inner", "len"
    ]  # fmt: skip


def test_the_decorator_records_the_input_given_to_it(memory: xray.MemoryStore) -> None:
    @xray.step("fixed", input={"source": "catalog"})
    def fixed(x: int) -> int:
        return x * 2

    class Search:
        @xray.step("method", input={"kind": "method"})
        def run(self, q: str) -> str:
            return q

    async def main() -> int:
        @xray.step("async", input=["given"])
        async def asynchronous(x: int) -> int:
            return x

        @xray.step("gen", input="given")
        def generator(n: int) -> Iterator[int]:
            yield from range(n)

        @xray.step("agen", input="given")
        async def agenerator(n: int) -> AsyncIterator[int]:
            for i in range(n):
                yield i

        async with xray.trace("inputs") as trace:
            fixed(3)
            Search().run("q")
            await asynchronous(1)
            list(generator(2))
            assert [i async for i in agenerator(2)] == [0, 1]
        return trace.trace_id  # type: ignore[return-value]

    stored = memory.get_trace(asyncio.run(main()))
    assert stored is not None
    assert [(s.name, s.input, s.output) for s in stored.steps] == [
        ("fixed", {"source": "catalog"}, 6), ("method", {"kind": "method"}, "q"),
        ("async", ["given"], 1), ("gen", "given", [0, 1]), ("agen", "given", [0, 1]),
    ]  # fmt: skip
    with xray.trace("context manager") as trace:  # the same input= as a context manager
        with xray.step("cm", input={"k": 1}):
            pass
    assert memory.get_trace(trace.trace_id).steps[0].input == {"k": 1}  # type: ignore[union-attr]


def test_a_step_inside_a_trace_is_one_object_entered_and_left(memory: xray.MemoryStore) -> None:
    # xray.step(...) inside a trace is the StepContext itself, recorded when entered; the same
    # object entered again records another step; called with a function it decorates.
    with xray.trace("one object") as trace:
        made = xray.step("s", input={"n": 1})
        with made as entered:
            assert entered is made and isinstance(entered, xray.StepContext)
            assert xray.current_step() is made
            entered.set_output({"ok": True})
        first_id = made.step_id
        assert xray.current_step() is None
        with made:
            pass
        assert made.step_id != first_id

        @xray.step("decorated")
        def double(x: int) -> int:
            return 2 * x

        assert double(2) == 4
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert [(s.name, s.step_order, s.status) for s in stored.steps] == [
        ("s", 0, "completed"), ("s", 1, "completed"), ("decorated", 2, "completed")
    ]  # fmt: skip
    assert stored.steps[0].output == {"ok": True} and stored.steps[2].output == 4


def test_an_ambient_step_that_raises_is_failed_and_the_error_passes(
    memory: xray.MemoryStore,
) -> None:
    with pytest.raises(ValueError, match="boom"):
        with xray.trace("failing") as trace:
            with xray.step("bad"):
                raise ValueError("boom")
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.status == "failed"
    assert stored.steps[0].status == "failed" and "ValueError: boom" in (stored.steps[0].error or "")
