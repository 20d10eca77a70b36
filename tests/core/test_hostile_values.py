"""Recording never raises into the pipeline, whatever it is given.

Every public recording call gets values that break the usual assumptions: a numpy array (no
truth value), objects whose ``__bool__``, ``__len__``, ``__eq__``, ``__hash__``, ``__iter__`` or
``__repr__`` raise, text with lone surrogates, non-dicts where a dict is expected. Each call
records the value by the documented conversion (``to_jsonable``) and the pipeline goes on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.serialize import to_jsonable


class Boom(Exception):
    """What the hostile objects raise."""


class NoBool:
    def __bool__(self) -> bool:
        raise Boom("__bool__")


class NoLen:
    def __len__(self) -> int:
        raise Boom("__len__")


class NoEq:
    def __eq__(self, other: object) -> bool:
        raise Boom("__eq__")

    def __hash__(self) -> int:
        raise Boom("__hash__")


class NoIter:
    def __iter__(self) -> Any:
        raise Boom("__iter__")


class NoRepr:
    def __repr__(self) -> str:
        raise Boom("__repr__")

    def __str__(self) -> str:
        raise Boom("__str__")


class Nothing(NoBool, NoLen, NoEq, NoIter, NoRepr):
    """Every one of them at once."""


class NoItems(dict):  # type: ignore[type-arg]
    """A dict subclass whose items() raises."""

    def items(self) -> Any:
        raise Boom("items")


HOSTILE: dict[str, Any] = {
    "numpy array": np.array([1, 2]),
    "numpy bool array": np.array([True, False]),
    "__bool__ raises": NoBool(),
    "__len__ raises": NoLen(),
    "__eq__/__hash__ raise": NoEq(),
    "__iter__ raises": NoIter(),
    "__repr__/__str__ raise": NoRepr(),
    "everything raises": Nothing(),
    "dict whose items() raises": NoItems(a=1),
    "surrogate text": os.fsdecode(b"caf\xe9.txt"),
    "list, not a dict": ["not", "a", "dict"],
    "int, not a dict": 5,
    "None": None,
}
PARAMS = pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))


@pytest.fixture
def memory() -> xray.MemoryStore:
    return xray.MemoryStore()


def record_everything(xr: xray.XRay, value: Any) -> str:
    """Give ``value`` to every recording call, in every argument; returns the trace id."""
    with xr.trace(value, metadata=value) as trace:
        trace.set_metadata(value)
        with trace.step(value, input=value) as step:
            step.set_input(value)
            step.set_output(value)
            step.set_reasoning(value)
            step.set_metadata(value)
            step.add_evaluation(value, item_data=value, filters=value, qualified=value,
                                reasoning=value)  # fmt: skip
            step.add_evaluation("B01", filters=[value, {"name": value, "passed": value,
                                                        "detail": value}])  # fmt: skip
            step.add_llm_metadata(value, tokens_used=value, temperature=value, prompt=value)
            with step.step(value, input=value) as child:
                child.set_output(value)
    return trace.trace_id


@PARAMS
def test_every_recording_call_accepts_the_value(memory: xray.MemoryStore, value: Any) -> None:
    trace_id = record_everything(xray.XRay(store=memory), value)
    stored = memory.get_trace(trace_id)
    assert stored is not None and stored.status == "completed"
    converted = to_jsonable(value)
    step, child = stored.steps
    assert [s.status for s in stored.steps] == ["completed", "completed"]
    assert step.output == converted and child.output == converted
    assert isinstance(stored.name, str) and isinstance(step.name, str)
    expected_metadata = converted if isinstance(converted, dict) else {"value": converted}
    if value is None:
        expected_metadata = {}
    assert stored.metadata == expected_metadata
    assert step.llm is not None and step.llm["prompt"] == converted
    first, second = step.evaluations
    assert isinstance(first.item_id, str) and isinstance(first.qualified, bool)
    named = second.filters[1]  # {"name": value, "passed": value, "detail": value}
    assert named.name == (converted if isinstance(converted, str) else str(converted))
    assert named.passed is bool(converted)
    stored.model_dump_json().encode("utf-8")  # valid UTF-8 all through


@PARAMS
def test_the_ambient_api_and_the_decorator_accept_the_value(value: Any) -> None:
    memory = xray.MemoryStore()
    xray.configure(store=memory)

    @xray.step(value)
    def decorated(argument: Any) -> Any:
        return argument

    with xray.trace(value, metadata=value) as trace:
        with xray.step(value, input=value) as step:
            step.set_output(value)
        assert decorated(value) is value
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and [s.status for s in stored.steps] == ["completed"] * 2
    assert stored.steps[1].input == {"argument": to_jsonable(value)}


def test_a_numpy_array_as_trace_metadata_is_kept_under_value(memory: xray.MemoryStore) -> None:
    with xray.XRay(store=memory).trace("t", metadata=np.array([1, 2])) as trace:
        pass
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.metadata == {"value": [1, 2]}


def test_evaluations_set_by_hand_to_a_non_list_are_kept(memory: xray.MemoryStore) -> None:
    with xray.XRay(store=memory).trace("t") as trace:
        with trace.step("filter") as step:
            step.set_metadata({"evaluations": "x"})
            step.add_evaluation("B01", qualified=True)
            step.add_evaluation("B02")
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    evaluations = stored.steps[0].metadata["evaluations"]
    assert evaluations[0] == "x" and len(evaluations) == 3  # the hand-written value is kept
    assert [(e.item_id, e.qualified) for e in stored.steps[0].evaluations] == [
        ("B01", True), ("B02", False)
    ]  # fmt: skip


def test_llm_metadata_set_by_hand_is_replaced_by_add_llm_metadata(
    memory: xray.MemoryStore,
) -> None:
    with xray.XRay(store=memory).trace("t") as trace:
        with trace.step("ask") as step:
            step.set_metadata({"llm": 5})
            step.add_llm_metadata(model="m", tokens_used=np.int64(3))
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    assert stored.steps[0].llm == {"model": "m", "tokens_used": 3, "temperature": None}


def test_filters_given_as_one_filter_or_a_generator(memory: xray.MemoryStore) -> None:
    with xray.XRay(store=memory).trace("t") as trace:
        with trace.step("filter") as step:
            step.add_evaluation("one", filters={"name": "price", "passed": True})
            step.add_evaluation("gen", filters=({"name": n, "passed": False} for n in "ab"))
            step.add_evaluation("model", filters=xray.FilterResult(name="price", passed=True))
            step.add_evaluation("many", qualified=np.array([True, True]))
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None
    one, gen, model, many = stored.steps[0].evaluations
    assert [(f.name, f.passed) for f in one.filters] == [("price", True)]
    assert [f.name for f in gen.filters] == ["a", "b"]
    assert [(f.name, f.passed) for f in model.filters] == [("price", True)]
    assert many.qualified is False  # an array has no truth value: recorded as not qualified


@pytest.mark.parametrize("value", [np.array([1]), "false", 1, None, NoBool()],
                         ids=["array", "text", "int", "None-as-store", "NoBool"])  # fmt: skip
def test_setting_up_with_a_wrong_value_is_a_type_error_not_a_recording_error(value: Any) -> None:
    if value is None:
        with pytest.raises(TypeError, match="store must be an xray_core store"):
            xray.XRay(store=object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"object has no start_trace\(\)"):
            xray.configure(store=object())  # type: ignore[arg-type]
        return
    with pytest.raises(TypeError, match="enabled must be True or False"):
        xray.XRay(enabled=value)
    before = xray.get_recorder()
    with pytest.raises(TypeError, match="enabled must be True or False"):
        xray.configure(enabled=value)
    assert xray.get_recorder() is before  # nothing was changed


OPERATIONS = (
    "set_input", "set_output", "set_reasoning", "set_metadata", "add_evaluation",
    "add_llm_metadata", "trace.set_metadata", "step", "ambient step",
)  # fmt: skip
hostile = st.sampled_from(list(HOSTILE)).map(HOSTILE.__getitem__)  # by name: hypothesis hashes
values = (
    hostile
    | st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cs"]))
    | st.dictionaries(st.sampled_from(["evaluations", "llm", "value", "x"]),
                      hostile | st.integers() | st.text())
    | st.builds(np.array, st.lists(st.integers(-5, 5), max_size=3))
)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), values), max_size=12))
def test_any_sequence_of_recording_calls_never_raises(calls: list[tuple[str, Any]]) -> None:
    memory = xray.MemoryStore()
    xr = xray.XRay(store=memory)
    xray.configure(store=memory)
    with xr.trace("sequence") as trace:
        with trace.step("main") as step:
            for operation, value in calls:
                if operation == "trace.set_metadata":
                    trace.set_metadata(value)
                elif operation == "step":
                    with step.step(value, input=value) as child:
                        child.set_output(value)
                elif operation == "ambient step":
                    with xray.step(value, input=value) as child:
                        child.set_reasoning(value)
                elif operation == "add_evaluation":
                    step.add_evaluation(value, item_data=value, filters=value, qualified=value)
                elif operation == "add_llm_metadata":
                    step.add_llm_metadata(value, prompt=value)
                else:
                    getattr(step, operation)(value)
    stored = memory.get_trace(trace.trace_id)
    assert stored is not None and stored.status == "completed"
    assert all(s.status == "completed" for s in stored.steps)
    stored.model_dump_json().encode("utf-8")
    for recorded in stored.steps:
        recorded.evaluations  # readable  # noqa: B018
