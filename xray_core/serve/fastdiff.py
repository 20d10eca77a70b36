"""``xray diff``'s comparison of two runs, as the server makes it: traces of the same content
are not compared.

:func:`compare_stored` answers what :func:`~xray_core.commands.diff.compare_runs` answers (the
same selection of tests, pairing, ``--partial`` rule and errors). Two paired traces whose
content is the same (:func:`.content.content_key`) have no change and no drift, whatever the
options (ignore patterns and drift settings only leave changes out, a tolerance only makes
values equal), unless a value is NaN, which differs from itself: such pairs, and every pair
whose content differs, go through :func:`~xray_core.diff.diff_traces`, on contents normalized
once (:class:`.content.TraceContents`), and each pair of contents compared once.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..commands.diff import Comparison, compared_traces
from ..diff import RunDiff, TraceDiff, diff_traces, occurrence_keys
from ..models import Run, Trace
from .content import StoredTrace, TraceContents
from .database import ServedDatabase


def compare_stored(
    db: ServedDatabase, contents: TraceContents, runs: list[Run], args: argparse.Namespace
) -> Comparison:
    """Diff the first of ``runs`` against the last, with the options of ``args`` (``test``,
    ``ignore``, ``tolerance``, ``include_llm``, ``include_reasoning``, ``partial``).

    :raises UsageError: ``args.test`` selects no trace of the runs.
    :raises ValueError: a bad ignore pattern or tolerance (when a pair is compared).
    """
    traces = contents.runs_traces(db, [r.run_id for r in runs], args.test)
    traces, left_out = compared_traces(db.store, runs, traces, args)
    options: dict[str, Any] = {"tolerance": args.tolerance, "include_llm": args.include_llm,
                               "include_reasoning": args.include_reasoning}  # fmt: skip
    before, after = _keyed(traces[0]), _keyed(traces[-1])
    result = RunDiff()
    done: dict[tuple[Any, Any], TraceDiff] = {}  # pairs of contents already compared
    for key in sorted(set(before) | set(after)):
        if key not in after:
            result.removed.append(key)
        elif key not in before:
            result.added.append(key)
        else:
            old, new = before[key], after[key]
            pair = (old.key, new.key)
            if pair not in done:
                done[pair] = _diff(old, new, args.ignore, options)
            result.diffs[key] = done[pair]
    if result.diffs:
        # the options are checked as diff_traces checks them, even when no pair needed it
        diff_traces({}, {}, args.ignore, **options)
    identities = [[_identity(t) for t in run_list] for run_list in traces]
    return Comparison(runs, identities, result, partial=left_out)


def _keyed(traces: list[StoredTrace]) -> dict[tuple[str, str, int], StoredTrace]:
    """Traces keyed as :func:`~xray_core.diff.trace_key_map` keys them."""
    ordered = sorted(traces, key=lambda t: t.start_time)
    return occurrence_keys(ordered, lambda t: (t.test_id or "", t.name))


def _diff(old: StoredTrace, new: StoredTrace, ignore: list[str], options: dict[str, Any]
          ) -> TraceDiff:  # fmt: skip
    if old.key == new.key and not new.content.has_nan:
        return TraceDiff(str(new.name or old.name), [], [])
    return diff_traces(old.content.normalized, new.content.normalized, ignore, **options)


def _identity(trace: StoredTrace) -> Trace:
    """A :class:`Trace` with the id, name, test and start of ``trace`` (what a
    :class:`Comparison` reads to name the paired traces) and the content read for it."""
    return trace.content.trace.model_copy(update={
        "trace_id": trace.trace_id, "test_id": trace.test_id, "start_time": trace.start_time,
    })  # fmt: skip
