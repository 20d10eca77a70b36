"""One candidate's verdict run by run (``GET /api/history``): the page's timeline.

Read straight from the stored evaluations (one query for the whole window, no trace loaded), so
the timeline of an item over hundreds of runs stays quick: a step's metadata is parsed only when
its text names the item, and each distinct text once per request (a test run again on the same
input records the same text). The result is kept while the runs of its window stay as they are.
"""

from __future__ import annotations

import json
from operator import itemgetter
from typing import Any

import orjson
import pydantic_core
from pydantic import ValidationError

from ..models import Evaluation, Run
from .api import ApiError, JsonText, as_json_text, fingerprint, run_summary
from .cache import ResultCache
from .content import has_digests, has_trace_digests
from .database import ServedDatabase, matching_tests

DEFAULT_LAST = 50

#: the traces of some tests in some runs, each with its steps (and their metadata) that may name
#: the item: a trace without one comes once, its step columns NULL (its run ran the test). The
#: join's condition skips, without parsing it, the metadata of a step that cannot name the item.
#: ``+t.run_id``: the traces are found by test (a test's traces are few; a window of runs holds
#: every trace), and sorted in Python (SQLite's sorter would copy every row's metadata). For a
#: schema 4 file: see ``_INDEXED`` otherwise.
_STEPS = """
SELECT t.run_id, t.trace_id, t.test_id, t.name AS trace, s.step_id, s.name AS step, s.metadata,
       t.start_time, s.step_order, s.rowid AS found
FROM traces AS t LEFT JOIN steps AS s ON s.trace_id = t.trace_id AND instr(s.metadata, ?) > 0
WHERE +t.run_id IN (SELECT value FROM json_each(?))
  AND t.test_id IN (SELECT value FROM json_each(?))
"""
_STEP, _METADATA, _FOUND = 5, 6, 9
#: the same traces and every one of their steps, read from two indexes alone (schema 5:
#: ``idx_traces_test_run``, ``idx_steps_content``): the steps' digests, not their text
_INDEXED = """
SELECT t.run_id, t.trace_id, t.test_id, t.name, s.step_id, s.digest, t.start_time, s.step_order,
       s.rowid
FROM traces AS t LEFT JOIN steps AS s ON s.trace_id = t.trace_id
WHERE +t.run_id IN (SELECT value FROM json_each(?))
  AND t.test_id IN (SELECT value FROM json_each(?))
"""
#: the same columns for some traces (by id)
_INDEXED_OF = """
SELECT t.run_id, t.trace_id, t.test_id, t.name, s.step_id, s.digest, t.start_time, s.step_order,
       s.rowid
FROM traces AS t LEFT JOIN steps AS s ON s.trace_id = t.trace_id
WHERE t.trace_id IN (SELECT value FROM json_each(?))
"""
#: the same traces alone, each with its digest, from one index (schema 6:
#: ``idx_traces_test_content``); no step read
_TRACES = """
SELECT run_id, trace_id, test_id, name, start_time, digest FROM traces
WHERE +run_id IN (SELECT value FROM json_each(?)) AND test_id IN (SELECT value FROM json_each(?))
"""
_T_DIGEST = 5
#: the id of the step at one place (``step_order``) of some traces (``idx_steps_content``)
_STEP_IDS = """
SELECT trace_id, step_id FROM steps
WHERE trace_id IN (SELECT value FROM json_each(?)) AND step_order = ?
"""
#: the name and metadata of some steps (by rowid) whose metadata may name the item
_TEXTS = """
SELECT rowid, name, metadata FROM steps
WHERE rowid IN (SELECT value FROM json_each(?)) AND instr(metadata, ?) > 0
"""
#: the columns of a step row as :func:`_steps_naming` gives them (``_KEY``: what the step's
#: text is found under)
_RUN, _TRACE, _TEST, _NAME, _STEP_ID, _KEY, _START, _ORDER, _ROWID = range(9)
#: recording order: the order of the steps a trace's decision is the last of
_RECORDED = itemgetter(_START, _TRACE, _ORDER)
#: a trace's final decision on the item: its run, the decision's group, the deciding step's id
#: and order
Final = tuple[str, tuple[Any, ...], str, int]


def _steps_naming(
    db: ServedDatabase, item: str, window: str, selected: str
) -> tuple[set[str], list[tuple[Any, ...]], dict[Any, tuple[str, str | None]]]:
    """The runs of ``window`` (JSON list of ids) that ran a test of ``selected``; the steps of
    those tests' traces whose metadata may name ``item`` (columns ``_RUN`` ... ``_ORDER``); and
    under each step's ``_KEY``, its name and metadata.

    Schema 5: the steps are read from the indexes, and the text of one step per distinct digest
    (and of each step without one, stored before the upgrade): 5,000 traces of 500 runs that
    recorded the same few contents read a handful of metadata texts, not 5,000.
    """
    if not has_digests(db):
        rows = db.tuples(_STEPS, [_needle(item), window, selected])
        texts: dict[Any, tuple[str, str | None]] = {}
        found = []
        for r in rows:
            if r[_FOUND] is not None:
                key = texts.setdefault((r[_STEP], r[_METADATA]), (r[_STEP], r[_METADATA]))
                found.append((r[0], r[1], r[2], r[3], r[4], key, r[7], r[8]))
        return set(map(itemgetter(_RUN), rows)), found, texts
    rows = db.tuples(_INDEXED, [window, selected])
    found, texts = _texts_of(db, item, rows)
    return set(map(itemgetter(_RUN), rows)), found, texts


def _texts_of(
    db: ServedDatabase, item: str, rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], dict[Any, tuple[str, str | None]]]:
    """Of the steps ``rows`` (``_INDEXED``'s columns), those whose metadata may name ``item``,
    and under each one's ``_KEY``, its name and metadata: the text of one step per distinct
    digest, and of each step without one."""
    # a digest -> a step's rowid (the last one: any step of that content will do)
    first: dict[Any, int | None] = {row[_KEY]: row[_ROWID] for row in rows}
    loose: list[tuple[Any, ...]] = []  # steps without a digest: each read by its rowid
    if None in first:  # (or a trace without steps, whose rowid is NULL too)
        del first[None]
        loose = [row for row in rows if row[_KEY] is None and row[_ROWID] is not None]
        first.update((row[_ROWID], row[_ROWID]) for row in loose)
    named = {r[0]: (r[1], r[2]) for r in db.tuples(_TEXTS, [json.dumps(list(first.values())),
                                                             _needle(item)])}  # fmt: skip
    texts = {key: named[rowid] for key, rowid in first.items() if rowid in named}
    found = [row for row in rows if row[_KEY] in texts]
    found += [(*row[:_KEY], row[_ROWID], *row[_KEY + 1 :]) for row in loose
              if row[_ROWID] in texts]  # fmt: skip
    return found, texts


def _finals(
    rows: list[tuple[Any, ...]], texts: dict[Any, tuple[str, str | None]], item: str,
    step: str | None, parsed: dict[str | None, list[bytes]],
    shown: dict[tuple[Any, ...], dict[str, Any]],
) -> dict[str, Final]:  # fmt: skip
    """Each trace's final decision on ``item`` (the last of its steps ``rows`` deciding on it),
    the traces in recording order (start time, then id)."""
    # (test, trace name, step key) -> the group of the step's last decision (None: it has none)
    last_of: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
    final: dict[str, Final] = {}
    for row in sorted(rows, key=_RECORDED):
        place = (row[_TEST], row[_NAME], row[_KEY])
        if place in last_of:
            group = last_of[place]
        else:
            group = last_of[place] = _last_group(texts[row[_KEY]], place, item, step, parsed,
                                                 shown)  # fmt: skip
        if group is not None:
            final[row[_TRACE]] = (row[_RUN], group, row[_STEP_ID], row[_ORDER])
    return final


def _decided_by_trace_digest(
    db: ServedDatabase, item: str, step: str | None, window: str, selected: str,
    parsed: dict[str | None, list[bytes]], shown: dict[tuple[Any, ...], dict[str, Any]],
) -> tuple[set[str], dict[str, dict[str, tuple[tuple[Any, ...], str | None]]]]:  # fmt: skip
    """The runs that ran a selected test, and run -> trace -> (final decision's group, step id),
    the traces in recording order (schema 6). The step id is given for the first trace of each
    decision in each run (the one the answer names it for), None for the others.

    The test's traces and their digests come from one index; the steps of one trace per
    distinct content (test, trace name, digest) are read and its final decision worked out
    there, and so is each trace without a digest (stored before schema 6, or recorded step by
    step). The other traces' deciding step is at the same place: its id is read where needed.
    """
    traces = sorted(db.tuples(_TRACES, [window, selected]), key=itemgetter(4, 1))
    first: dict[tuple[Any, ...], str] = {}  # a content -> its first trace
    read: list[str] = []  # the traces whose steps are read
    for t in traces:
        if t[_T_DIGEST] is None:
            read.append(t[1])
        elif first.setdefault((t[2], t[3], t[_T_DIGEST]), t[1]) == t[1]:
            read.append(t[1])
    rows = db.tuples(_INDEXED_OF, [json.dumps(read)]) if read else []
    found, texts = _texts_of(db, item, rows)
    final = _finals(found, texts, item, step, parsed, shown)
    decided: dict[str, dict[str, tuple[tuple[Any, ...], str | None]]] = {}
    at: dict[str, int] = {}  # a trace -> the order of its deciding step, when its id is not read
    for t in traces:
        trace_id = t[1]
        if t[_T_DIGEST] is None or trace_id in final:
            held = final.get(trace_id)
            if held is not None:
                decided.setdefault(t[0], {})[trace_id] = (held[1], held[2])
            continue
        held = final.get(first[(t[2], t[3], t[_T_DIGEST])])
        if held is not None:
            decided.setdefault(t[0], {})[trace_id] = (held[1], None)
            at[trace_id] = held[3]
    # the answer names the deciding step of each run's first trace of each decision only
    wanted: dict[int, list[str]] = {}  # a step order -> the traces whose step id is read
    for of_run in decided.values():
        seen = set()
        for trace_id, (group, step_id) in of_run.items():
            if group not in seen:
                seen.add(group)
                if step_id is None:
                    wanted.setdefault(at[trace_id], []).append(trace_id)
    ids: dict[str, str] = {}
    for order, trace_ids in wanted.items():
        ids.update(db.tuples(_STEP_IDS, [json.dumps(trace_ids), order]))
    for of_run in decided.values():
        for trace_id in ids.keys() & of_run.keys():
            of_run[trace_id] = (of_run[trace_id][0], ids[trace_id])
    return {t[0] for t in traces}, decided


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


def history_page(
    db: ServedDatabase, cache: ResultCache, *, test: str, item: str, step: str | None = None,
    last: int = DEFAULT_LAST,
) -> JsonText:  # fmt: skip
    """:func:`item_history` as JSON, kept while the runs of the window stay as they are."""
    runs = list(reversed(db.store.list_runs(limit=last)))
    tests = matching_tests(db, test)

    def compute() -> JsonText:
        # no float: the runs' fields and the decisions' (verdicts, filters, texts) are typed
        return as_json_text(item_history(db, test=test, item=item, step=step, runs=runs,
                                         tests=tests), floats=False)  # fmt: skip

    key = ("history", test, tuple(tests), item, step)
    return cache.get(key, fingerprint(db, runs), compute)


def item_history(
    db: ServedDatabase, *, test: str, item: str, step: str | None = None,
    last: int = DEFAULT_LAST, runs: list[Run] | None = None, tests: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The verdict on ``item`` in each of the last ``last`` runs (oldest first) that ran a test
    matching ``test``: per trace the item's final decision (its last evaluation, or its one in
    ``step``), per run the verdict, and whether it changed from the run before.

    :param runs: the window, oldest first, when already read (instead of ``last``).
    :param tests: the test ids ``test`` selects, when already read.
    """
    if runs is None:
        runs = list(reversed(db.store.list_runs(limit=last)))
    if tests is None:
        tests = matching_tests(db, test)
    if not tests:
        raise ApiError(404, f"test {test!r}: no stored trace belongs to a matching test")
    window, selected = json.dumps([r.run_id for r in runs]), json.dumps(tests)
    # a step's metadata -> its decisions on the item (each as JSON text, once per distinct text)
    parsed: dict[str | None, list[bytes]] = {}
    shown: dict[tuple[Any, ...], dict[str, Any]] = {}  # a group -> the decision it shows
    # run -> trace -> its final decision: (the decision's group, its step id)
    decided: dict[str, dict[str, tuple[tuple[Any, ...], str | None]]] = {}
    if has_trace_digests(db):
        ran, decided = _decided_by_trace_digest(db, item, step, window, selected, parsed, shown)
    else:
        ran, rows, texts = _steps_naming(db, item, window, selected)
        for trace_id, (run_id, group, step_id, _) in _finals(rows, texts, item, step, parsed,
                                                             shown).items():  # fmt: skip
            decided.setdefault(run_id, {})[trace_id] = (group, step_id)
    if not decided:
        where = f" in step {step!r}" if step else ""
        raise ApiError(404, f"item {item!r} was not evaluated{where} by a test matching "
                            f"{test!r} in the last {len(runs)} run(s)")  # fmt: skip
    timeline = _timeline([r for r in runs if r.run_id in ran], decided, shown)
    return {"test": test, "item": item, "step": step, "tests": tests, "runs": timeline,
            "current": _current(timeline)}  # fmt: skip


def _last_group(
    text: tuple[str, str | None], where: tuple[Any, ...], item: str, step: str | None,
    parsed: dict[str | None, list[bytes]], shown: dict[tuple[Any, ...], dict[str, Any]],
) -> tuple[Any, ...] | None:  # fmt: skip
    """The group of the last decision on ``item`` of a step (its name and metadata: ``text``) in
    a trace of a test (``where``), registering every decision's group in ``shown``; None when
    the step decides nothing on it (or is not ``step``)."""
    name, metadata = text
    if step is not None and name != step:
        return None
    decisions = parsed.get(metadata)
    if decisions is None:
        decisions = parsed[metadata] = [orjson.dumps(_decision(e))
                                        for e in _evaluations_of(metadata, item)]  # fmt: skip
    group = None
    for decision in decisions:
        group = (where[0], where[1], name, decision)
        if group not in shown:
            shown[group] = {"test_id": where[0], "trace": where[1], "step": name,
                            **orjson.loads(decision)}  # fmt: skip
    return group


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


def _decision(evaluation: Evaluation) -> dict[str, Any]:
    """What the timeline shows of one evaluation."""

    def filters(passed: bool) -> list[dict[str, Any]]:
        return [{"name": f.name, "passed": f.passed, "detail": f.detail}
                for f in evaluation.filters if f.passed is passed]  # fmt: skip

    return {"qualified": evaluation.qualified, "verdict": verdict_text(evaluation),
            "failed": filters(False), "passed": filters(True),
            "reasoning": evaluation.reasoning}  # fmt: skip


def _timeline(
    runs: list[Run], decided: dict[str, dict[str, tuple[tuple[Any, ...], str | None]]],
    shown: dict[tuple[Any, ...], dict[str, Any]],
) -> list[Any]:  # fmt: skip
    """Each run's entry: its verdict, whether it changed, and its traces' distinct decisions
    (in the order of the first trace holding each), each with the ids of the traces holding it
    and the deciding step's id in the first of them (the page's link)."""
    timeline = []
    previous: str | None = None
    for run in runs:
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for trace_id, (group, step_id) in decided.get(run.run_id, {}).items():
            held = groups.get(group)
            if held is None:
                groups[group] = {"traces": [trace_id], "step_id": step_id}
            else:
                held["traces"].append(trace_id)
        decisions = [{**shown[group], **held} for group, held in groups.items()]
        verdicts = sorted({d["verdict"] for d in decisions})
        if not verdicts:
            verdict = "not evaluated"
        elif len(verdicts) == 1:
            verdict = verdicts[0]
        else:
            verdict = "mixed: " + "; ".join(verdicts)
        changed = previous is not None and verdict != previous
        previous = verdict
        timeline.append({"run": run_summary(run), "verdict": verdict, "changed": changed,
                         "decisions": decisions})  # fmt: skip
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
