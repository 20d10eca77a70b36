"""``python -m benchmarks [--quick] [--only NAME ...]``: every figure, its peer and the ratio.

Runs the ``run(quick: bool = False) -> list[Figure]`` function of every ``benchmarks/bench_*.py``
module (or only those named with ``--only``, e.g. ``--only recording``) and prints one table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import sys
import time
import traceback
from typing import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .harness import Figure

PREFIX = "bench_"


def available() -> list[str]:
    """Short names (``recording`` for ``bench_recording.py``) of every benchmark module."""
    package = sys.modules[__package__ or "benchmarks"]
    return sorted(
        info.name.removeprefix(PREFIX)
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith(PREFIX)
    )


def format_number(value: float | None) -> str:
    """A figure's value with as many digits as it deserves."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def figures_table(figures: Sequence[Figure], title: str) -> Table:
    """One row per figure: group, figure, value, peer, peer value, ratio, target, met."""
    table = Table(title=title)
    for name, justify in (("group", "left"), ("figure", "left"), ("value", "right"),
                          ("peer", "left"), ("peer value", "right"), ("ratio", "right"),
                          ("target", "left"), ("met", "center")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for f in figures:
        ratio = f.ratio
        met = {True: "[green]yes[/green]", False: "[red]NO[/red]", None: "-"}[f.met]
        table.add_row(
            escape(f.group),
            escape(f.name),
            f"{format_number(f.value)} {escape(f.unit)}",
            escape(f.peer or "-"),
            f"{format_number(f.peer_value)} {escape(f.unit)}" if f.peer_value is not None else "-",
            f"{ratio:.2f}x" if ratio is not None else "-",
            escape(f.target or "-"),
            met,
        )
    return table


def build_parser(names: Sequence[str]) -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure decisiontracex against its peers; prints ratios, not just times.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few iterations: a smoke run, the figures are rough"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        default=[],
        help=f"run only this benchmark (repeatable); one of: {', '.join(names)}",
    )
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; exit code 1 when a benchmark module crashed."""
    names = available()
    parser = build_parser(names)
    args = parser.parse_args(argv)
    selected = [n.removeprefix(PREFIX) for n in args.only] or names
    unknown = [n for n in selected if n not in names]
    if unknown:
        parser.error(f"--only {unknown[0]!r}: no such benchmark; choose from {', '.join(names)}")
    console, errors = Console(), Console(stderr=True)
    if not console.is_terminal:  # logs and CI artifacts: no terminal width to respect
        console = Console(width=140)
    figures: list[Figure] = []
    crashed = False
    started = time.perf_counter()
    for name in selected:
        try:
            module = importlib.import_module(f"{__package__ or 'benchmarks'}.{PREFIX}{name}")
            figures.extend(module.run(quick=args.quick))
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            crashed = True
            errors.print(f"[red]benchmark {name!r} failed:[/red]")
            errors.print(escape(traceback.format_exc()))
    mode = "quick" if args.quick else "full"
    console.print(figures_table(figures, f"decisiontracex benchmarks ({mode})"))
    console.print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{time.perf_counter() - started:.1f} s. Medians of repeats; compare the ratios."
    )
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
