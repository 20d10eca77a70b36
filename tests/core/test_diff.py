"""Trace diffs: typed changes, pairing of steps, ignore patterns, tolerance, drift and rendering."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

import xray_core as xray
from xray_core.diff import (
    DecisionChanged,
    LLMChanged,
    ReasoningChanged,
    StatusChanged,
    StepAdded,
    StepRemoved,
)


# -- a small pipeline description, recorded as often as needed --------------------------------
@dataclass(frozen=True)
class Candidate:
    item_id: str
    filters: tuple[tuple[str, bool, str], ...]
    qualified: bool
    reasoning: str | None = None
    price: float = 10.0


@dataclass(frozen=True)
class PlannedStep:
    name: str
    output: Any = None
    reasoning: str | None = None
    llm: dict[str, Any] | None = None
    candidates: tuple[Candidate, ...] = ()
    children: tuple[PlannedStep, ...] = ()
    fails: bool = False


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]
    metadata: dict[str, Any] = field(default_factory=dict)


def record(plan: Plan, test_id: str | None = None) -> xray.Trace:
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("pipeline", metadata=plan.metadata) as trace:
        trace.record["test_id"] = test_id
        for planned in plan.steps:
            _record_step(trace, planned)
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    return stored


def _record_step(parent: Any, planned: PlannedStep) -> None:
    try:
        with parent.step(planned.name, input={"name": planned.name}) as step:
            step.set_output(planned.output)
            if planned.reasoning is not None:
                step.set_reasoning(planned.reasoning)
            if planned.llm is not None:
                step.add_llm_metadata(**planned.llm)
            for c in planned.candidates:
                step.add_evaluation(
                    c.item_id, item_data={"price": c.price},
                    filters=[{"name": n, "passed": p, "detail": d} for n, p, d in c.filters],
                    qualified=c.qualified, reasoning=c.reasoning,
                )  # fmt: skip
            for child in planned.children:
                _record_step(step, child)
            if planned.fails:
                raise ValueError(f"{planned.name} failed")
    except ValueError:
        pass


BASE = Plan(
    metadata={"product": "P1"},
    steps=(
        PlannedStep("keywords", output={"keywords": ["steel"]}, reasoning="material",
                    llm={"model": "m1", "tokens_used": 40, "temperature": 0.2}),
        PlannedStep("filter", output={"kept": 1}, candidates=(
            Candidate("B0X", (("price", False, "9.50 < 12.50"), ("rating", True, "4.5")), False,
                      "too cheap", 9.5),
            Candidate("B0Y", (("price", True, "20.00 ok"), ("rating", True, "4.9")), True,
                      "fits", 20.0),
        )),
    ),
)  # fmt: skip


def with_step(plan: Plan, index: int, **changes: Any) -> Plan:
    steps = list(plan.steps)
    steps[index] = replace(steps[index], **changes)
    return replace(plan, steps=tuple(steps))


def flip_b0x(plan: Plan, detail: str = "13.00 >= 12.50") -> Plan:
    b0x, b0y = plan.steps[1].candidates
    flipped = replace(b0x, qualified=True, filters=(("price", True, detail), b0x.filters[1]))
    return with_step(plan, 1, candidates=(flipped, b0y))


# -- basic behaviour ---------------------------------------------------------------------------
def test_two_recordings_of_the_same_pipeline_do_not_differ() -> None:
    before, after = record(BASE), record(BASE)
    assert before.trace_id != after.trace_id
    diff = xray.diff_traces(before, after)
    assert not diff and diff.changes == [] and diff.drift == []
    assert str(diff) == "trace 'pipeline': no changes"


def test_a_flipped_decision_names_the_item_and_the_filter() -> None:
    diff = xray.diff_traces(record(BASE), record(flip_b0x(BASE)))
    assert diff
    [change] = diff.decisions
    assert isinstance(change, DecisionChanged) and change.flipped
    assert (change.item_id, change.step, change.path) == ("B0X", "filter", "filter.evaluations.B0X")
    assert change.describe() == (
        "B0X: rejected by price -> qualified (price: 9.50 < 12.50 (failed) -> 13.00 >= 12.50 "
        "(passed)) [step 'filter']"
    )
    assert str(diff).splitlines()[:2] == ["trace 'pipeline': 1 change(s)", f"  {change.describe()}"]


def test_a_filter_outcome_flip_without_a_verdict_flip_is_a_decision_change() -> None:
    b0x, b0y = BASE.steps[1].candidates
    both_failed = replace(b0x, filters=(b0x.filters[0], ("rating", False, "3.1")))
    diff = xray.diff_traces(record(BASE), record(with_step(BASE, 1, candidates=(both_failed, b0y))))
    [change] = diff.changes
    assert isinstance(change, DecisionChanged) and not change.flipped
    assert "rejected by price -> rejected by price, rating" in change.describe()


def test_a_changed_filter_detail_alone_is_reasoning_drift() -> None:
    b0x, b0y = BASE.steps[1].candidates
    detail = replace(b0x, filters=(("price", False, "9.40 < 12.50"), b0x.filters[1]))
    current = record(with_step(BASE, 1, candidates=(detail, b0y)))
    diff = xray.diff_traces(record(BASE), current)
    assert not diff
    [change] = diff.drift
    assert isinstance(change, ReasoningChanged)
    assert change.path == "filter.evaluations.B0X.filters.price.detail"
    assert change.describe() == (
        "filter.evaluations.B0X.filters.price.detail: '9.50 < 12.50' -> '9.40 < 12.50'"
    )
    assert xray.diff_traces(record(BASE), current, include_reasoning=True).changes == [change]


def test_an_item_evaluated_only_on_one_side() -> None:
    b0x, _ = BASE.steps[1].candidates
    diff = xray.diff_traces(record(BASE), record(with_step(BASE, 1, candidates=(b0x,))))
    [change] = diff.changes
    assert isinstance(change, DecisionChanged)
    assert change.describe() == "B0Y: qualified -> not evaluated [step 'filter']"


def test_steps_added_removed_and_status_changes() -> None:
    extra = replace(BASE, steps=(*BASE.steps, PlannedStep("rank", output=[1])))
    failing = with_step(BASE, 0, fails=True)
    added = xray.diff_traces(record(BASE), record(extra))
    assert [type(c) for c in added.changes] == [StepAdded]
    assert added.changes[0].describe() == "step 'rank' added (completed)"
    removed = xray.diff_traces(record(extra), record(BASE))
    assert removed.changes[0].describe() == "step 'rank' removed (was completed)"
    assert isinstance(removed.changes[0], StepRemoved)
    status = xray.diff_traces(record(BASE), record(failing))
    kinds = {type(c) for c in status.changes}
    assert StatusChanged in kinds
    described = [c.describe() for c in status.changes]
    assert "trace: status completed -> failed" in described
    assert "step 'keywords': status completed -> failed" in described
    assert any(c.path == "keywords.error" for c in status.changes)


def test_nested_and_repeated_steps_pair_by_path_and_occurrence() -> None:
    plan = Plan(steps=(
        PlannedStep("retry", output=1),
        PlannedStep("retry", output=2),
        PlannedStep("outer", children=(PlannedStep("inner", output="a"),)),
    ))  # fmt: skip
    changed = Plan(steps=(
        PlannedStep("retry", output=1),
        PlannedStep("retry", output=3),
        PlannedStep("outer", children=(PlannedStep("inner", output="b"),)),
    ))  # fmt: skip
    keys = [s["key"] for s in xray.normalize_trace(record(plan))["steps"]]
    assert keys == ["retry", "retry#2", "outer", "outer/inner"]
    diff = xray.diff_traces(record(plan), record(changed))
    assert [(c.path, c.before, c.after) for c in diff.changes] == [  # type: ignore[attr-defined]
        ("retry#2.output", 2, 3), ("outer/inner.output", "a", "b")
    ]  # fmt: skip


def test_llm_and_reasoning_changes_are_drift_unless_included() -> None:
    drifted = with_step(BASE, 0, reasoning="a different wording",
                        llm={"model": "m2", "tokens_used": 41, "temperature": 0.2})  # fmt: skip
    b0x, b0y = drifted.steps[1].candidates
    drifted = with_step(drifted, 1, candidates=(replace(b0x, reasoning="cheap"), b0y))
    before, after = record(BASE), record(drifted)
    quiet = xray.diff_traces(before, after)
    assert not quiet and quiet.changes == []
    assert {c.path for c in quiet.drift} == {
        "keywords.llm.model", "keywords.llm.tokens_used", "keywords.reasoning",
        "filter.evaluations.B0X.reasoning",
    }  # fmt: skip
    assert "not compared (4):" in str(quiet)
    llm = xray.diff_traces(before, after, include_llm=True)
    assert llm and all(isinstance(c, LLMChanged) for c in llm.changes)
    assert {type(c) for c in llm.drift} == {ReasoningChanged}
    both = xray.diff_traces(before, after, include_llm=True, include_reasoning=True)
    assert len(both.changes) == 4 and both.drift == []


def test_ignore_patterns() -> None:
    changed = flip_b0x(with_step(BASE, 0, output={"keywords": ["steel", "bottle"]}))
    changed = replace(changed, metadata={"product": "P1", "request_id": "r-2"})
    b0x, b0y = changed.steps[1].candidates
    changed = with_step(changed, 1, candidates=(b0x, replace(b0y, price=21.0)))
    before, after = record(BASE), record(changed)
    everything = xray.diff_traces(before, after)
    assert {c.path for c in everything.changes} == {
        "filter.evaluations.B0X", "filter.evaluations.B0Y.item_data.price",
        "keywords.output.keywords[1]", "trace.metadata.request_id",
    }  # fmt: skip

    def paths(*ignore: str) -> set[str]:
        return {c.path for c in xray.diff_traces(before, after, ignore=list(ignore)).changes}

    assert "trace.metadata.request_id" not in paths("trace.metadata.request_id")
    assert "keywords.output.keywords[1]" not in paths("keywords.output")  # a prefix covers below
    assert paths("*.item_data.*") == everything_paths_without(everything, "item_data")
    assert paths("filter.evaluations.B0X") == everything_paths_without(everything, ".B0X")
    assert paths("*") == set()
    assert paths("keywords.out") == {c.path for c in everything.changes}  # not a path prefix


def test_an_ignored_path_covers_its_list_items_and_brackets_match_literally() -> None:
    before = record(Plan((PlannedStep("keywords", output={"keywords": ["steel", "bottle"]}),)))
    after = record(Plan((PlannedStep("keywords", output={"keywords": ["steel", "flask"]}),)))
    [change] = xray.diff_traces(before, after).changes
    assert change.path == "keywords.output.keywords[1]"
    # the paths exactly as the diff prints them, and globs over them
    for pattern in ("keywords.output.keywords", "keywords.output.keywords[1]",
                    "keywords.output.keywords[*]", "*[1]"):  # fmt: skip
        assert not xray.diff_traces(before, after, ignore=[pattern]), pattern
    assert xray.diff_traces(before, after, ignore=["keywords.output.keywords[0]"])


def test_an_item_id_with_brackets_can_be_ignored() -> None:
    plan = Plan((PlannedStep("filter", candidates=(Candidate("SKU[1]", (), True),)),))
    flipped = Plan((PlannedStep("filter", candidates=(Candidate("SKU[1]", (), False),)),))
    assert not xray.diff_traces(record(plan), record(flipped), ignore=["filter.evaluations.SKU[1]"])


def test_a_bool_that_becomes_a_number_is_a_change() -> None:
    before = record(Plan((PlannedStep("check", output={"ok": True, "n": 1}),)))
    after = record(Plan((PlannedStep("check", output={"ok": 1, "n": 1.0}),)))
    assert [c.path for c in xray.diff_traces(before, after).changes] == ["check.output.ok"]


def test_a_bad_tolerance_or_ignore_is_refused() -> None:
    trace = record(BASE)
    for bad in (-0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="tolerance"):
            xray.diff_traces(trace, trace, tolerance=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ignore patterns must be strings, got 1 \(int\)"):
        xray.diff_traces(trace, trace, ignore=["*.detail", 1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ignore must be a pattern or a list of patterns, got 5"):
        xray.diff_traces(trace, trace, ignore=5)  # type: ignore[arg-type]


def test_one_string_as_ignore_is_one_pattern_as_for_assert_baseline() -> None:
    # list("*.detail") would be ["*", ".", "d", ...], and "*" would ignore everything
    before = record(BASE)
    after = record(replace(flip_b0x(BASE), metadata={"product": "P1", "request_id": "r-2"}))
    as_string = xray.diff_traces(before, after, ignore="trace.metadata.request_id")
    assert as_string.changes == xray.diff_traces(
        before, after, ignore=["trace.metadata.request_id"]
    ).changes
    assert [c.path for c in as_string.changes] == ["filter.evaluations.B0X"]
    assert xray.diff_runs([before], [after], ignore="*").diffs  # paired, and nothing left
    assert not any(xray.diff_runs([before], [after], ignore="*").diffs.values())


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["*", "*.detail", "filter", "filter.evaluations.B0X", "trace.metadata",
                        "*[0]", "keywords.output.keywords", "nothing.here", ""]))  # fmt: skip
def test_a_string_and_a_list_of_that_string_ignore_the_same(pattern: str) -> None:
    before = record(BASE)
    after = record(flip_b0x(with_step(BASE, 0, output={"keywords": ["steel", "bottle"]}), "x"))
    one = xray.diff_traces(before, after, ignore=pattern)
    listed = xray.diff_traces(before, after, ignore=[pattern])
    assert (one.changes, one.drift) == (listed.changes, listed.drift)


def everything_paths_without(diff: xray.TraceDiff, fragment: str) -> set[str]:
    return {c.path for c in diff.changes if fragment not in c.path}


def test_numeric_tolerance() -> None:
    b0x, b0y = BASE.steps[1].candidates
    nudged = with_step(BASE, 1, candidates=(replace(b0x, price=9.52), b0y))
    before, after = record(BASE), record(nudged)
    assert xray.diff_traces(before, after)
    assert not xray.diff_traces(before, after, tolerance=0.05)
    assert xray.diff_traces(before, after, tolerance=0.01)


def test_a_normalized_trace_has_no_volatile_fields_and_diffs_like_the_model() -> None:
    trace = record(BASE)
    normalized = xray.normalize_trace(trace)
    text = json.dumps(normalized, sort_keys=True)
    for volatile in (trace.trace_id, "start_time", "end_time", "duration_ms", "step_id"):
        assert volatile not in text
    assert xray.normalize_trace(normalized) is normalized
    from_json = json.loads(text)  # what a baseline file holds
    assert not xray.diff_traces(from_json, record(BASE))
    assert xray.diff_traces(from_json, record(flip_b0x(BASE))).decisions[0].item_id == "B0X"


def test_rendering_reads_like_a_review() -> None:
    changed = flip_b0x(with_step(BASE, 0, output={"keywords": ["steel", "flask"]},
                                 llm={"model": "m2", "tokens_used": 40, "temperature": 0.2}))
    diff = xray.diff_traces(record(BASE), record(changed))
    assert str(diff).splitlines() == [
        "trace 'pipeline': 2 change(s)",
        "  B0X: rejected by price -> qualified (price: 9.50 < 12.50 (failed) -> 13.00 >= 12.50 "
        "(passed)) [step 'filter']",
        "  keywords.output.keywords: 'flask' inserted at #2",
        "  not compared (1):",
        "    keywords.llm.model: 'm1' -> 'm2'",
    ]
    output = io.StringIO()
    console = Console(file=output, width=200, color_system="standard", force_terminal=True)
    console.print(diff)
    styled = output.getvalue()
    assert "\x1b[1;31m  B0X: rejected by price -> qualified" in styled  # decisions in bold red
    assert "\x1b[2m  ~ keywords.llm.model: 'm1' -> 'm2'" in styled  # drift dimmed
    assert diff.__rich__().plain.splitlines()[:2] == str(diff).splitlines()[:2]


def test_a_long_list_that_changed_length_says_which_entries_came_and_went() -> None:
    ranking = [f"B0{i:03d}" for i in range(30)]
    changed = ranking[:10] + ["B0NEW"] + ranking[10:28]  # one in, the last two out
    before = record(Plan((PlannedStep("rank", output={"ranking": ranking}),)))
    after = record(Plan((PlannedStep("rank", output={"ranking": changed}),)))
    assert [c.describe() for c in xray.diff_traces(before, after).changes] == [
        "rank.output.ranking: 'B0NEW' inserted at #11",
        "rank.output.ranking: 'B0028' removed (was #29)",
        "rank.output.ranking: 'B0029' removed (was #30)",
    ]
    # a list of dicts is not aligned: a change of length is one change, said in words
    rows = [{"id": i} for i in range(30)]
    before = record(Plan((PlannedStep("rank", output={"rows": rows}),)))
    after = record(Plan((PlannedStep("rank", output={"rows": rows[:29]}),)))
    [line] = [c.describe() for c in xray.diff_traces(before, after).changes]
    assert line == "rank.output.rows: 30 -> 29 items; removed {'id': 29}"


def test_diff_runs_pairs_traces_by_test_name_and_occurrence() -> None:
    old = [record(BASE, "t::a"), record(BASE, "t::a"), record(BASE, "t::gone")]
    new = [record(BASE, "t::a"), record(flip_b0x(BASE), "t::a"), record(BASE, "t::new")]
    result = xray.diff_runs(old, new)
    assert result
    assert result.removed == [("t::gone", "pipeline", 0)]
    assert result.added == [("t::new", "pipeline", 0)]
    assert list(result.changed) == [("t::a", "pipeline", 1)]
    assert not xray.diff_runs(old, old)


# -- properties --------------------------------------------------------------------------------
names = st.sampled_from(["keywords", "search", "filter", "rank"])
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3)
                      | st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=8)
candidates = st.lists(
    st.builds(
        Candidate,
        item_id=st.sampled_from(["A", "B", "C", "D"]),
        filters=st.lists(st.tuples(st.sampled_from(["price", "rating", "reviews"]),
                                   st.booleans(), st.text(max_size=5)),
                         max_size=3, unique_by=lambda f: f[0]).map(tuple),
        qualified=st.booleans(),
        reasoning=st.none() | st.text(max_size=8),
        price=st.floats(0, 100),
    ),
    max_size=4, unique_by=lambda c: c.item_id,
).map(tuple)  # fmt: skip
leaf_steps = st.builds(
    PlannedStep, name=names, output=values, reasoning=st.none() | st.text(max_size=8),
    llm=st.none() | st.fixed_dictionaries({"model": st.sampled_from(["m1", "m2"]),
                                           "tokens_used": st.integers(0, 99)}),
    candidates=candidates, fails=st.booleans(),
)  # fmt: skip
planned_steps = st.recursive(
    leaf_steps,
    lambda c: st.builds(PlannedStep, name=names, output=values,
                        children=st.lists(c, max_size=2).map(tuple)),
    max_leaves=5,
)  # fmt: skip
plans = st.builds(Plan, steps=st.lists(planned_steps, min_size=1, max_size=4).map(tuple),
                  metadata=st.dictionaries(st.text(max_size=4), scalars, max_size=2))


@settings(max_examples=60, deadline=None)
@given(plans)
def test_recordings_that_differ_only_in_ids_and_times_have_an_empty_diff(plan: Plan) -> None:
    diff = xray.diff_traces(record(plan), record(plan), include_llm=True, include_reasoning=True)
    assert not diff and diff.drift == []


def _with_a_candidate(plan: Plan) -> bool:
    return any(s.candidates for s in plan.steps)


@settings(max_examples=60, deadline=None)
@given(plans.filter(_with_a_candidate), st.data())
def test_a_flipped_decision_is_named_in_the_diff(plan: Plan, data: st.DataObject) -> None:
    index = data.draw(st.sampled_from([i for i, s in enumerate(plan.steps) if s.candidates]))
    step = plan.steps[index]
    position = data.draw(st.integers(0, len(step.candidates) - 1))
    target = step.candidates[position]
    flipped = list(step.candidates)
    flipped[position] = replace(target, qualified=not target.qualified)
    changed = with_step(plan, index, candidates=tuple(flipped))
    diff = xray.diff_traces(record(plan), record(changed))
    assert diff
    assert any(d.item_id == target.item_id and d.flipped for d in diff.decisions)
    assert target.item_id in str(diff)
