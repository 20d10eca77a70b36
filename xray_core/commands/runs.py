"""``xray runs``: the run history, most recent first."""

from __future__ import annotations

import argparse

from rich import box
from rich.table import Table
from rich.text import Text

from ..models import Run
from ..runref import short_id
from ..runstate import ShownStatus, shown_status
from .common import CommandSet, Context, all_runs, positive_int, run_json


def register(commands: CommandSet) -> None:
    """Add ``xray runs`` to the command line."""
    parser = commands.add(
        "runs", help="list recorded runs, most recent first",
        description="List the runs of the history: id, when, commit and branch, how the run "
                    "ended (completed, interrupted, failed; running while its session goes, "
                    "unfinished when its process was killed), counts.",
    )  # fmt: skip
    parser.add_argument("--limit", type=positive_int, default=20, metavar="N",
                        help="show the N most recent runs (default 20)")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """List the runs."""
    with ctx.open_store() as store:
        every = all_runs(store)
    runs = every[: args.limit]
    if ctx.as_json:
        ctx.print_json([run_json(r) for r in runs])
    else:
        ctx.console.print(runs_table(runs, total=len(every)))
    return 0


_STATUS_STYLES: dict[ShownStatus, str] = {
    "completed": "green", "interrupted": "yellow", "failed": "red", "running": "cyan",
    "unfinished": "yellow",
}  # fmt: skip


def _count(run: Run, key: str) -> str:
    value = run.counts.get(key)
    return "-" if value is None else str(value)


def runs_table(runs: list[Run], total: int | None = None) -> Table:
    """The runs as a rich table (user data as plain text, never markup)."""
    shown = f"{len(runs)} run(s)" if total in (None, len(runs)) else f"{len(runs)} of {total} runs"
    title = f"{shown}, most recent first (times in UTC; * = uncommitted changes)"
    table = Table(title=title, title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)  # fmt: skip
    for name in ("run", "started", "commit", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("tests", "traces", "failed", "baseline\nfailed"):
        table.add_column(name, justify="right")
    for r in runs:
        commit = Text(short_id(r.git_commit) or "-")
        if r.git_dirty:
            commit.append("*", style="bold yellow")
        if r.git_branch:
            commit.append(f" {r.git_branch}", style="cyan")
        failed = _count(r, "failed")
        baseline_failed = _count(r, "baseline_failed")
        status = shown_status(r)
        table.add_row(
            Text(short_id(r.run_id), style="bold"),
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            commit,
            Text(status, style=_STATUS_STYLES[status]),
            _count(r, "tests"),
            _count(r, "traces"),
            Text(failed, style="red" if failed not in ("0", "-") else ""),
            Text(baseline_failed, style="red" if baseline_failed not in ("0", "-") else ""),
        )
    return table
