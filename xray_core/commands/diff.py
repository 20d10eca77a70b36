"""``xray diff A B``: what changed in the decisions from run A to run B (a CI gate)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rich.rule import Rule
from rich.text import Text

from ..diff import (
    Change,
    DecisionChanged,
    FieldChanged,
    ListEntryChanged,
    RunDiff,
    StatusChanged,
    StepAdded,
    StepRemoved,
    TraceDiff,
    TraceKey,
    diff_runs,
    trace_key_map,
)
from ..models import Run, Trace
from ..runref import describe_run, latest_index, resolve_run, short_id
from ..runstate import shown_status, status_phrase
from ..store.sqlite import SQLiteStore
from .common import (
    TEST_HELP,
    CommandSet,
    Context,
    UsageError,
    all_runs,
    identifier,
    pattern,
    run_json,
    run_traces,
    tolerance,
)

EXIT_SAME, EXIT_DIFFERENT = 0, 1


def register(commands: CommandSet) -> None:
    """Add ``xray diff`` to the command line."""
    parser = commands.add(
        "diff", help="compare the decisions of two runs (exit 1 when they differ)",
        description="Compare run A (before) with run B (after), trace by trace, paired by test "
                    "id, trace name and occurrence, with the same rules as baselines. Exit 0 "
                    "when nothing compared differs, 1 when something does, 2 on usage errors.",
        epilog="Runs: a run id or unique prefix, latest, latest~N (N runs before the latest), "
               "or a git commit / revision (its latest run). latest and latest~N count "
               "completed runs only; a run named otherwise that did not complete (interrupted, "
               "failed, still running or killed) is refused unless --partial is given.",
    )  # fmt: skip
    parser.add_argument("run_a", metavar="A", type=identifier, help="the run before (e.g. latest~1)")
    parser.add_argument("run_b", metavar="B", type=identifier, help="the run after (e.g. latest)")
    add_compare_options(parser)
    parser.add_argument("--partial", action="store_true",
                        help="compare a run that did not complete: only the tests that "
                             "finished in both runs are compared")  # fmt: skip
    parser.add_argument("--drift", action="store_true",
                        help="also print traces whose only changes are LLM or reasoning "
                             "drift")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


def add_compare_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by the commands comparing runs (diff, report)."""
    parser.add_argument("--test", metavar="PATTERN", type=pattern, help=TEST_HELP)
    parser.add_argument("--ignore", metavar="PATTERN", action="append", default=[], type=pattern,
                        help="ignore changes at paths matching this glob (repeatable), "
                             "e.g. 'keyword_generation.output.*' or '*.detail'")  # fmt: skip
    parser.add_argument("--tolerance", type=tolerance, default=0.0, metavar="X",
                        help="numbers closer than X count as equal")  # fmt: skip
    parser.add_argument("--include-llm", action="store_true",
                        help="make LLM configuration drift count as a difference")  # fmt: skip
    parser.add_argument("--include-reasoning", action="store_true",
                        help="make reasoning text changes count as a difference")  # fmt: skip


@dataclass
class Comparison:
    """Two (or more) resolved runs, their traces, and the diff of the first against the last."""

    runs: list[Run]
    traces: list[list[Trace]]
    result: RunDiff
    #: --partial with a run that did not complete: (tests compared, tests left out)
    partial: tuple[int, int] | None = None
    _ids: dict[TraceKey, tuple[str | None, str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        before, after = trace_key_map(self.traces[0]), trace_key_map(self.traces[-1])
        for key in set(before) | set(after):
            old, new = before.get(key), after.get(key)
            self._ids[key] = (old.trace_id if old else None, new.trace_id if new else None)

    def trace_ids(self, key: TraceKey) -> tuple[str | None, str | None]:
        """The ids of the paired traces in the first and the last run (None when absent)."""
        return self._ids.get(key, (None, None))


def compare(args: argparse.Namespace, ctx: Context, refs: list[str]) -> Comparison:
    """Resolve ``refs`` and diff the first run's traces against the last run's."""
    with ctx.open_store() as store:
        return compare_runs(store, resolve_compared(store, refs, partial=args.partial), args)


class HasTestId(Protocol):
    """A trace as read for a diff: a model, or the server's stored trace."""

    @property
    def test_id(self) -> str | None: ...


_T = TypeVar("_T", bound=HasTestId)


def compared_traces(
    store: SQLiteStore, runs: list[Run], traces: list[list[_T]], args: argparse.Namespace
) -> tuple[list[list[_T]], tuple[int, int] | None]:
    """The traces of ``runs`` a diff compares, and with ``--partial`` over a run that did not
    complete, (tests both runs ran, tests left out): never-run and interrupted tests must not
    count as changes.

    :raises UsageError: ``args.test`` selects no trace of the runs.
    """
    left_out = None
    if args.partial and any(r.status != "completed" for r in runs):
        tests = [{row["test_id"] for row in store.run_tests(r.run_id)} for r in runs]
        both = tests[0] & tests[-1]
        traces = [[t for t in run_list if t.test_id in both] for run_list in traces]
        left_out = (len(both), len((tests[0] | tests[-1]) - both))
    if args.test and not any(traces):
        raise UsageError(f"--test {args.test!r}: no trace of the compared runs belongs to a "
                         "matching test")  # fmt: skip
    return traces, left_out


def compare_runs(store: SQLiteStore, runs: list[Run], args: argparse.Namespace) -> Comparison:
    """Diff the first of ``runs`` against the last, with the options of ``args`` (``test``,
    ``ignore``, ``tolerance``, ``include_llm``, ``include_reasoning``, ``partial``)."""
    traces, left_out = compared_traces(
        store, runs, [run_traces(store, r, args.test) for r in runs], args
    )
    result = diff_runs(
        traces[0], traces[-1], args.ignore, tolerance=args.tolerance,
        include_llm=args.include_llm, include_reasoning=args.include_reasoning,
    )  # fmt: skip
    return Comparison(runs, traces, result, partial=left_out)


def resolve_compared(
    store: SQLiteStore,
    refs: list[str],
    *,
    partial: bool = False,
    on_skipped: Callable[[list[Run]], None] | None = None,
) -> list[Run]:
    """The runs to compare: ``latest``/``latest~N`` among the completed runs (the runs that
    did not complete and were skipped are named on stderr, or given to ``on_skipped``); a run
    named otherwise that did not complete is refused unless ``partial``.
    """
    runs = all_runs(store)
    completed = [r for r in runs if r.status == "completed"]
    chosen: list[Run] = []
    skipped: list[Run] = []
    for ref in refs:
        index = latest_index(ref)
        if index is None:
            run = resolve_run(runs, ref)
            if run.status != "completed" and not partial:
                raise UsageError(
                    f"run {short_id(run.run_id)} {status_phrase(run)}: the tests it did not "
                    "finish would show as changes; compare completed runs (see `xray runs`), "
                    "or only the tests both runs finished with --partial"
                )
        else:
            if index >= len(completed):
                others = len(runs) - len(completed)
                raise UsageError(
                    f"run {ref!r}: only {len(completed)} completed run(s) recorded"
                    + (f" ({others} more did not complete)" if others else "")
                    + "; latest and latest~N count completed runs only"
                )
            run = completed[index]
            newer = runs[: runs.index(run)]
            skipped += [r for r in newer if r.status != "completed" and r not in skipped]
        chosen.append(run)
    if skipped and on_skipped is not None:
        on_skipped(skipped)
    elif skipped:
        names = ", ".join(f"{short_id(r.run_id)} ({shown_status(r)})" for r in skipped)
        sys.stderr.write(
            "xray: note: latest and latest~N count completed runs only; skipped "
            f"{len(skipped)} newer run(s) that did not complete: {names}\n"
        )
    return chosen


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print the diff of the two runs; exit 1 when a compared trace differs."""
    comparison = compare(args, ctx, [args.run_a, args.run_b])
    if ctx.as_json:
        ctx.print_json(diff_json(comparison))
    else:
        print_diff(ctx, comparison, show_drift=args.drift)
    return EXIT_DIFFERENT if comparison.result.changed else EXIT_SAME


def _key_label(key: TraceKey) -> str:
    test_id, name, index = key
    label = f"{test_id or '(no test)'} :: {name}"
    return label if index == 0 else f"{label} #{index + 1}"


def _ids_label(ids: tuple[str | None, str | None]) -> str:
    return " -> ".join(short_id(i) or "-" for i in ids)


def print_diff(ctx: Context, comparison: Comparison, *, show_drift: bool = False) -> None:
    """The human rendering: changed traces, unpaired traces, one summary line."""
    console, result = ctx.console, comparison.result
    a, b = comparison.runs[0], comparison.runs[-1]
    console.print(Text(f"A: {describe_run(a)}\nB: {describe_run(b)}", style="dim"))
    if a.run_id == b.run_id:
        console.print(Text("note: A and B are the same run", style="yellow"))
    for side, run in (("A", a), ("B", b)):
        if run.status != "completed":
            console.print(Text(f"note: {side}: run {short_id(run.run_id)} {status_phrase(run)}",
                               style="yellow"), soft_wrap=True)  # fmt: skip
    if comparison.partial is not None:
        compared, left_out = comparison.partial
        console.print(Text(f"partial: only the {compared} test(s) that finished in both runs "
                           f"are compared; {left_out} test(s) left out", style="yellow"),
                      soft_wrap=True)  # fmt: skip
    for key, trace_diff in result.diffs.items():
        if trace_diff or (show_drift and trace_diff.drift):
            title = Text(_key_label(key), style="bold")
            title.append(f"  {_ids_label(comparison.trace_ids(key))}", style="dim")
            console.print(Rule(title, align="left"))
            console.print(trace_diff, soft_wrap=True)  # one change, one greppable line
    for title_text, keys in (("only in A", result.removed), ("only in B", result.added)):
        if keys:
            console.print(Text(f"{title_text} ({len(keys)}):", style="bold yellow"))
            for key in keys:
                trace_id = next(i for i in comparison.trace_ids(key) if i)
                console.print(Text(f"  {_key_label(key)}  {short_id(trace_id)}"), soft_wrap=True)
    style = "bold red" if result.changed else "bold green"
    console.print(Text(summary_line(result), style=style), soft_wrap=True)


def summary_line(result: RunDiff) -> str:
    """One line: traces compared and changed, decision flips, unpaired, drift."""
    changed = result.changed
    flips = sum(len([d for d in diff.decisions if d.flipped]) for diff in changed.values())
    decisions = sum(len(diff.decisions) for diff in changed.values())
    drift = sum(1 for d in result.diffs.values() if d.drift)
    parts = [
        f"{len(result.diffs)} trace(s) compared",
        f"{len(changed)} changed",
        f"{decisions} decision change(s) ({flips} flipped)",
        f"{len(result.removed)} only in A",
        f"{len(result.added)} only in B",
    ]
    if drift:
        parts.append(f"{drift} with LLM/reasoning drift (not compared)")
    verdict = "decisions differ" if changed else "no differences"
    return f"{verdict}: " + ", ".join(parts)


def change_json(change: Change) -> dict[str, Any]:
    """One typed change as JSON-able data (``kind``, ``path``, ``description`` and its fields)."""
    data: dict[str, Any] = {"kind": type(change).__name__, "path": change.path,
                            "description": change.describe()}  # fmt: skip
    if isinstance(change, DecisionChanged):
        data.update(step=change.step, item_id=change.item_id, flipped=change.flipped,
                    before=change.before, after=change.after,
                    filters=[{"name": f.name, "before": f.before, "after": f.after}
                             for f in change.filters])  # fmt: skip
    elif isinstance(change, (StepAdded, StepRemoved)):
        data.update(step=change.step, status=change.status)
    elif isinstance(change, StatusChanged):
        data.update(step=change.step, before=change.before, after=change.after)
    elif isinstance(change, ListEntryChanged):
        data.update(edit=change.edit, list_path=change.list_path, value=change.value,
                    old_index=change.old_index, new_index=change.new_index)  # fmt: skip
    elif isinstance(change, FieldChanged):
        for side in ("before", "after"):
            value = getattr(change, side)
            data[side] = value if _is_json(value) else None
            data[f"{side}_absent"] = not _is_json(value)
    return data


def _is_json(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


def _trace_json(
    comparison: Comparison, key: TraceKey, diff: TraceDiff | None = None
) -> dict[str, Any]:
    trace_a, trace_b = comparison.trace_ids(key)
    data: dict[str, Any] = {"test_id": key[0], "trace": key[1], "occurrence": key[2],
                            "trace_id_a": trace_a, "trace_id_b": trace_b}  # fmt: skip
    if diff is not None:
        data["changes"] = [change_json(c) for c in diff.changes]
        data["drift"] = [change_json(c) for c in diff.drift]
    return data


def diff_json(comparison: Comparison) -> dict[str, Any]:
    """The whole comparison as JSON-able data (``differs`` mirrors the exit status)."""
    result = comparison.result
    return {
        "a": run_json(comparison.runs[0]),
        "b": run_json(comparison.runs[-1]),
        "differs": bool(result.changed),
        "compared": len(result.diffs),
        "changed": [_trace_json(comparison, k, d) for k, d in result.changed.items()],
        "drift_only": [
            _trace_json(comparison, k, d) for k, d in result.diffs.items() if not d and d.drift
        ],
        "only_in_a": [_trace_json(comparison, k) for k in result.removed],
        "only_in_b": [_trace_json(comparison, k) for k in result.added],
        "summary": summary_line(result),
        "partial": None if comparison.partial is None else {
            "tests_compared": comparison.partial[0], "tests_left_out": comparison.partial[1],
        },
    }  # fmt: skip
