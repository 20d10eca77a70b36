"""``xray stability``: how often each decision flips over the last runs (unstable first)."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..stability import DecisionStability, GroupKey, decision_stability, input_groups
from .common import TEST_HELP, CommandSet, Context, all_runs, match_test, pattern, positive_int

EXIT_STABLE, EXIT_UNSTABLE = 0, 1


def register(commands: CommandSet) -> None:
    """Add ``xray stability`` to the command line."""
    parser = commands.add(
        "stability", help="flip rate of each decision over the last runs",
        description="For non-deterministic pipelines: each candidate's verdict (qualified or "
                    "rejected) over the traces of the last N runs, oldest first, and over the "
                    "many traces one test may record in a run (hypothesis examples, repeats). "
                    "Only traces of the same input are compared: the trace metadata's "
                    "stability_key, else its metadata and first step's input. Unstable "
                    "decisions first.",
    )  # fmt: skip
    parser.add_argument("--last", type=positive_int, default=10, metavar="N",
                        help="use the N most recent runs (default 10)")  # fmt: skip
    parser.add_argument("--test", metavar="PATTERN", type=pattern, help=TEST_HELP)
    parser.add_argument("--all", action="store_true", dest="show_all",
                        help="also list the stable decisions")  # fmt: skip
    parser.add_argument("--fail-unstable", action="store_true",
                        help="exit 1 when any decision is unstable")  # fmt: skip
    parser.add_argument("--pool", action="store_true",
                        help="compare every trace of a test with the others, whatever its "
                             "input (no grouping by input)")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print the stability of every decision taken in the last runs."""
    with ctx.open_store() as store:
        runs = all_runs(store)[: args.last]
        traces = [
            t
            for r in reversed(runs)  # oldest first
            for t in store.list_traces(None, run_id=r.run_id)
            if match_test(t.test_id, args.test)
        ]
    by_input = not args.pool
    entries = decision_stability(traces, by_input=by_input)
    groups = input_groups(traces, by_input=by_input)
    unstable = [e for e in entries if not e.stable]
    if ctx.as_json:
        sizes = sorted(groups.values())
        ctx.print_json({"runs": [r.run_id for r in reversed(runs)], "by_input": by_input,
                        "groups": {"count": len(sizes), "min_traces": sizes[0] if sizes else 0,
                                   "max_traces": sizes[-1] if sizes else 0},
                        "decisions": [entry_json(e) for e in entries]})  # fmt: skip
    else:
        shown = entries if args.show_all else unstable
        if shown:
            ctx.console.print(stability_table(shown))
        ctx.say(Text(
            f"{len(unstable)} of {len(entries)} decision(s) unstable over {len(runs)} run(s), "
            f"{len(traces)} trace(s) {groups_phrase(groups, by_input)}",
            style="bold red" if unstable else "bold green",
        ))  # fmt: skip
    return EXIT_UNSTABLE if args.fail_unstable and unstable else EXIT_STABLE


def groups_phrase(groups: Counter[GroupKey], by_input: bool) -> str:
    """``in 12 input groups of 1-20 traces`` (how many groups were compared, and their sizes)."""
    sizes = sorted(groups.values())
    if not sizes:
        return "in no group"
    span = str(sizes[0]) if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
    if not by_input:
        return f"in {len(sizes)} group(s) of {span} trace(s) (pooled: inputs not told apart)"
    return f"in {len(sizes)} input group(s) of {span} trace(s)"


def entry_json(entry: DecisionStability) -> dict[str, Any]:
    """One decision's stability as JSON-able data."""
    return {
        "test_id": entry.test_id, "trace": entry.trace_name, "group": entry.group,
        "step": entry.step,
        "item_id": entry.item_id, "observations": entry.observations,
        "qualified": entry.qualified, "rejected": entry.rejected, "flips": entry.flips,
        "flip_rate": round(entry.flip_rate, 4), "stable": entry.stable,
        "rejected_by": dict(entry.rejected_by.most_common()),
    }  # fmt: skip


def stability_table(entries: list[DecisionStability]) -> Table:
    """Decisions as a table: where, how often qualified/rejected, flips, by which filter."""
    table = Table(title="decision stability (unstable first)", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)  # fmt: skip
    table.add_column("test :: trace", overflow="fold", min_width=24)
    table.add_column("step", overflow="fold")
    table.add_column("item", overflow="fold")
    table.add_column("qualified/\nrejected", justify="right", no_wrap=True)
    table.add_column("flips/\nchances", justify="right", no_wrap=True)
    table.add_column("rejected\nby", overflow="fold")
    for e in entries:
        table.add_row(
            _where(e), Text(e.step), Text(e.item_id, style="bold"),
            f"{e.qualified}/{e.rejected}",
            Text(f"{e.flips}/{max(e.observations - 1, 0)} {e.flip_rate:4.0%}",
                 style="red" if e.flips else "green"),
            Text(", ".join(f"{name} x{n}" for name, n in e.rejected_by.most_common())),
        )  # fmt: skip
    return table


def _where(entry: DecisionStability) -> Text:
    """``test :: trace``, then the input group compared when the test's traces had several."""
    text = Text(entry.test_id or "(no test)")
    if entry.trace_name:
        text.append(f" :: {entry.trace_name}")
    if entry.group:
        text.append(f"\ninput {entry.group}", style="cyan")
    return text
