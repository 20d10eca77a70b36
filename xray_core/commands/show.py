"""``xray show TRACE``: one trace as a tree of steps, with each step's decisions."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..models import Evaluation, Step, Trace
from ..runref import short_id
from ..store.sqlite import SQLiteStore
from .common import CommandSet, Context, UsageError, format_ms, identifier

STATUS_STYLE = {"completed": "green", "failed": "bold red", "running": "yellow"}
STATUS_MARK = {"completed": "✓", "failed": "✗", "running": "…"}
_VALUE_LIMIT = 100
_TEXT_LIMIT = 60


def register(commands: CommandSet) -> None:
    """Add ``xray show`` to the command line."""
    parser = commands.add(
        "show", help="show one trace as a tree of steps",
        description="Show a trace: its steps with status, duration, reasoning, and a table of "
                    "the candidates each step evaluated (rejected first).",
    )  # fmt: skip
    parser.add_argument("trace_id", metavar="TRACE_ID", nargs="?", type=identifier,
                        help="a trace id or a unique prefix (`xray traces` lists them)")  # fmt: skip
    parser.add_argument("--all-items", action="store_true",
                        help="list every evaluated candidate (default: 20 per step)")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Show the trace."""
    if args.trace_id is None:
        raise UsageError("which trace? `xray traces` lists the recorded traces, newest first, "
                         "with their ids")  # fmt: skip
    with ctx.open_store() as store:
        trace = find_trace(store, args.trace_id)
    if ctx.as_json:
        ctx.print_json(trace.model_dump(mode="json"))
    else:
        ctx.console.print(trace_tree(trace, item_limit=None if args.all_items else 20))
    return 0


def find_trace(store: SQLiteStore, ref: str) -> Trace:
    """The trace whose id is ``ref`` or starts with it; ambiguity lists the candidates."""
    if not ref.strip():
        raise UsageError("empty trace id")
    trace = store.get_trace(ref)
    if trace is not None:
        return trace
    ids = store.trace_ids_with_prefix(ref, limit=11)
    if not ids:
        raise UsageError(f"{store.path}: no trace id starts with {ref!r}")
    if len(ids) > 1:
        more = " ..." if len(ids) > 10 else ""
        raise UsageError(f"trace {ref!r} is ambiguous; it matches: {', '.join(ids[:10])}{more}")
    found = store.get_trace(ids[0])
    assert found is not None  # the id was just listed
    return found


def trace_tree(trace: Trace, item_limit: int | None = 20) -> Tree:
    """The trace as a rich tree; every user value is plain text, never markup."""
    head = Text()
    head.append(f"{STATUS_MARK.get(trace.status, '?')} ", style=STATUS_STYLE.get(trace.status))
    head.append(trace.name, style="bold")
    head.append(f"  {trace.trace_id}  {trace.status}  {format_ms(trace.duration_ms)}", style="dim")
    if trace.test_id:
        head.append(f"\n  test {trace.test_id}", style="cyan")
    if trace.run_id:
        head.append(f"  run {short_id(trace.run_id)}", style="dim")
    if trace.metadata:
        head.append(f"\n  metadata {_compact(trace.metadata)}", style="dim")
    tree = Tree(head)
    nodes: dict[str | None, Tree] = {None: tree}
    known = {s.step_id for s in trace.steps}
    for step in sorted(trace.steps, key=lambda s: s.step_order):
        parent = nodes[step.parent_id if step.parent_id in known else None]
        nodes[step.step_id] = parent.add(_step_body(step, item_limit))
    return tree


def _step_body(step: Step, item_limit: int | None) -> RenderableType:
    label = Text()
    label.append(f"{STATUS_MARK.get(step.status, '?')} ", style=STATUS_STYLE.get(step.status))
    label.append(step.name, style="bold")
    label.append(f"  {format_ms(step.duration_ms)}", style="dim")
    if step.status != "completed":
        label.append(f"  {step.status}", style=STATUS_STYLE.get(step.status))
    for name, value in (("in", step.input), ("out", step.output)):
        if value is not None:
            label.append(f"\n{name}: ", style="dim")
            label.append(_compact(value))
    if step.reasoning:
        label.append("\nreasoning: ", style="dim")
        label.append(step.reasoning, style="italic")
    if step.llm:
        label.append("\nllm: ", style="dim")
        label.append(_llm_line(step.llm))
    if step.error:
        label.append("\nerror: ", style="dim")
        label.append(step.error.splitlines()[0], style="red")
    evaluations = step.evaluations
    if not evaluations:
        return label
    return Group(label, evaluations_table(evaluations, item_limit))


def evaluations_table(evaluations: list[Evaluation], limit: int | None = 20) -> Table:
    """Candidates of one step, rejected first: verdict, failed filters with detail, reasoning."""
    ordered = sorted(evaluations, key=lambda e: e.qualified)  # stable: rejected, then qualified
    rejected = sum(not e.qualified for e in evaluations)
    shown = ordered if limit is None else ordered[:limit]
    caption = None
    if len(shown) < len(ordered):
        caption = f"{len(ordered) - len(shown)} more not shown (--all-items)"
    table = Table(
        title=f"{len(evaluations)} evaluated, {rejected} rejected", title_justify="left",
        caption=caption, caption_justify="left", show_edge=False, pad_edge=False,
    )  # fmt: skip
    table.add_column("item")
    table.add_column("verdict")
    table.add_column("filters")
    table.add_column("reasoning", overflow="fold")
    for e in shown:
        table.add_row(
            Text(e.item_id),
            Text("qualified", style="green") if e.qualified else Text("rejected", style="red"),
            _filters(e),
            Text(e.reasoning or ""),
        )
    return table


def _filters(evaluation: Evaluation) -> Text:
    text = Text()
    for f in evaluation.failed_filters + evaluation.passed_filters:
        if text:
            text.append("; ")
        text.append(f"{'✓' if f.passed else '✗'} {f.name}", style="green" if f.passed else "red")
        if f.detail and not f.passed:
            text.append(f" ({f.detail})")
    return text


def _llm_line(llm: dict[str, Any]) -> str:
    """The LLM call on one line: set scalar fields, prompt and response flattened and clipped."""
    parts = []
    for key, value in llm.items():
        if value is None or isinstance(value, (dict, list)):
            continue
        parts.append(f"{key}={_clip(' '.join(str(value).split()), _TEXT_LIMIT)}")
    return ", ".join(parts)


def _compact(value: Any) -> str:
    return _clip(json.dumps(value, ensure_ascii=False, default=str), _VALUE_LIMIT)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
