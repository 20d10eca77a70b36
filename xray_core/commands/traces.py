"""``xray traces``: the recorded traces, newest first (pytest runs and ``XRAY_DB`` recording)."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..runref import short_id
from ..store.base import STATUSES
from .common import CommandSet, Context, identifier, positive_int
from .show import STATUS_STYLE

NO_TEST = "—"  # a trace recorded outside pytest (``XRAY_DB``, an ``XRay`` of your own)


def register(commands: CommandSet) -> None:
    """Add ``xray traces`` to the command line."""
    parser = commands.add(
        "traces", help="list recorded traces, newest first (ids for `xray show`)",
        description="List the traces of the database, most recently started first: id, start "
                    "time, name, status, steps and the test that recorded it ('—' for traces "
                    "recorded outside pytest, e.g. with XRAY_DB).",
    )  # fmt: skip
    parser.add_argument("--name", type=identifier, metavar="NAME",
                        help="only traces with this name")  # fmt: skip
    parser.add_argument("--status", choices=STATUSES, help="only traces with this status")
    parser.add_argument("--limit", type=positive_int, default=20, metavar="N",
                        help="show the N most recent traces (default 20)")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """List the traces."""
    limit = min(args.limit, sys.maxsize)  # SQLite's LIMIT is a 64-bit integer
    with ctx.open_store() as store:
        rows = store.trace_summaries(limit, name=args.name, status=args.status)
        db = store.path
    if ctx.as_json:
        ctx.print_json([_row_json(row) for row in rows])
        return 0
    if not rows:
        which = " matching the filters" if args.name or args.status else ""
        ctx.say(f"no trace{which} in {db}")
        return 0
    title = f"{len(rows)} trace(s), most recent first (times in UTC)"
    ctx.say(title + ("; --limit N shows more" if len(rows) == limit else ""))
    ctx.console.print(traces_table(rows))
    where = "" if ctx.db is None else f" --db {shlex.quote(str(ctx.db))}"
    ctx.say(Text(f"see one with: xray show {short_id(rows[0]['trace_id'])}{where}", style="dim"))
    return 0


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()}  # fmt: skip


def traces_table(rows: list[dict[str, Any]]) -> Table:
    """The traces as a rich table (user data as plain text, never markup)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for name in ("trace", "started", "name", "status"):
        table.add_column(name, no_wrap=True)
    table.add_column("steps", justify="right")
    table.add_column("test", overflow="fold")
    for row in rows:
        table.add_row(
            Text(short_id(row["trace_id"]), style="bold"),
            row["start_time"].strftime("%Y-%m-%d %H:%M"),
            Text(row["name"]),
            Text(row["status"], style=STATUS_STYLE.get(row["status"], "")),
            str(row["steps"]),
            Text(row["test_id"] or NO_TEST, style="cyan" if row["test_id"] else "dim"),
        )
    return table
