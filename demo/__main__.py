"""``python -m demo [--seed N] [--runs N] [--db PATH] [--product ASIN ...]``.

Runs the competitor-selection pipeline for each reference product (``--runs`` times, run ``i``
with seed ``seed + i``), records every trace into a SQLite database and prints a table: product,
chosen competitor, and how many candidates each filter rejected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xray_core import SQLiteStore, XRay, XRayError

from .data import REFERENCE_PRODUCTS, UnknownProductError, get_product
from .pipeline import Selection, run_pipeline
from .steps.filter import RULES

DEFAULT_DB = Path(".xray") / "runs.db"


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be >= {minimum}, got {value}")
        return value

    return parse


def _reference_asin(text: str) -> str:
    try:
        return get_product(text).asin
    except UnknownProductError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the competitor-selection pipeline and record its traces with X-Ray.",
    )
    parser.add_argument(
        "--seed",
        type=_int_at_least(0, "--seed"),
        default=0,
        metavar="N",
        help="seed of the first run's catalog randomization (default 0)",
    )
    parser.add_argument(
        "--runs",
        type=_int_at_least(1, "--runs"),
        default=1,
        metavar="N",
        help="how many times to run every product; run i uses seed+i (default 1)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite database the traces are recorded into (default {DEFAULT_DB})",
    )
    parser.add_argument(
        "--product",
        dest="products",
        action="append",
        type=_reference_asin,
        metavar="ASIN",
        help="only this reference product (repeatable; default: all four)",
    )
    return parser


def results_table(results: Sequence[tuple[int, Selection]]) -> Table:
    """A rich table with one row per pipeline run."""
    table = Table(
        title="Competitor selection",
        caption="chosen: the competitor selected; price / rating / reviews: how many "
        "candidates that filter rejected",
        show_edge=False,
    )
    table.add_column("seed", justify="right", min_width=4)
    table.add_column("product", no_wrap=True)
    table.add_column("chosen", no_wrap=True)
    table.add_column("qualified", justify="right", min_width=9)
    for name in RULES:
        table.add_column(name, justify="right", min_width=len(name))
    table.add_column("trace id", no_wrap=True)
    for seed, selection in results:
        best = selection.competitor
        counts = selection.rejections()
        table.add_row(
            str(seed),
            selection.product.asin,
            best.asin if best else "[yellow]none[/yellow]",
            f"{len(selection.ranking)}/{len(selection.candidates)}",
            *(str(counts[name]) for name in RULES),
            (selection.trace_id or "")[:8],
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db.is_dir():
        parser.error(f"--db {args.db}: is a directory, expected a database file")
    try:
        store = SQLiteStore(args.db, strict=True)
    except XRayError as exc:
        parser.error(f"--db {args.db}: {exc}")
    products = args.products or [p.asin for p in REFERENCE_PRODUCTS]
    recorder = XRay(store=store)
    results = []
    try:
        for run in range(args.runs):
            seed = args.seed + run
            for asin in products:
                results.append((seed, run_pipeline(asin, seed=seed, recorder=recorder)))
    finally:
        store.close()
    console = Console()
    console.print(results_table(results))
    if store.errors:
        Console(stderr=True).print(
            f"[red]{store.errors} write(s) to {escape(str(args.db))} failed[/red] (see the log)."
        )
        return 1
    console.print(
        f"Recorded {len(results)} trace{'s' if len(results) != 1 else ''} into {escape(str(args.db))}; inspect one with "
        f"[bold]xray show TRACE_ID --db {escape(str(args.db))}[/bold].",
        soft_wrap=True,  # keep the path on one line: it is meant to be copied
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
