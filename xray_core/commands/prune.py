"""``xray prune``: retention, deleting old runs with their tests and traces."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from rich.text import Text

from ..models import Run
from ..runref import describe_run
from .common import CommandSet, Context, positive_int, shown


def register(commands: CommandSet) -> None:
    """Add ``xray prune`` to the command line."""
    parser = commands.add(
        "prune", help="delete old runs (keep the N most recent, or those after a date)",
        description="Delete old runs with their test rows and traces. Traces recorded outside "
                    "a run (production recording) are left alone.",
    )  # fmt: skip
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--keep", type=positive_int, metavar="N",
                       help="keep the N most recent runs, delete the others")  # fmt: skip
    which.add_argument("--before", type=parse_date, metavar="DATE",
                       help="delete runs started before DATE (YYYY-MM-DD or ISO-8601, UTC "
                            "unless it has an offset)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    parser.set_defaults(handler=run, json_ok=True)


def parse_date(text: str) -> datetime:
    """argparse type: an ISO-8601 date or datetime, as aware UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-01-31 or 2026-01-31T12:00:00, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable time
        raise argparse.ArgumentTypeError(f"{shown(text)} is out of range in UTC") from None


def select(runs: list[Run], keep: int | None, before: datetime | None) -> list[Run]:
    """The runs to delete among ``runs`` (most recent first)."""
    if keep is not None:
        return runs[keep:]
    assert before is not None  # argparse requires one of the two
    return [r for r in runs if r.started_at < before]


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Delete (or list) the selected runs."""
    with ctx.open_store(write=not args.dry_run) as store:
        runs = store.list_runs()
        doomed = select(runs, args.keep, args.before)
        if not args.dry_run:
            for r in doomed:
                store.delete_run(r.run_id)
    if ctx.as_json:
        ctx.print_json({"deleted" if not args.dry_run else "would_delete":
                        [r.run_id for r in doomed], "kept": len(runs) - len(doomed)})  # fmt: skip
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for r in doomed:
        ctx.say(f"{verb} {describe_run(r)}")
    ctx.say(Text(f"{verb} {len(doomed)} run(s), kept {len(runs) - len(doomed)}", style="bold"))
    return 0
