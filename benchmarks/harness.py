"""Shared measuring and printing for the benchmarks: medians of repeats, ratios to peers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Figure:
    """One measured figure, compared with a peer measured in the same run.

    ``ratio`` is ``value / peer_value``; ``target`` states the goal as text (for example
    ``"<= 0.25x"``) and ``met`` whether the ratio meets it. ``value`` is None for a figure that
    was not measured in this run (its name says why). ``paired``, where set, is the median of
    each round's own ratio (the contenders compared round by round, as :func:`side_by_side`
    runs them), and is then the ratio; the values stay the medians of each.
    """

    group: str
    name: str
    value: float | None
    unit: str
    peer: str | None = None
    peer_value: float | None = None
    target: str | None = None
    met: bool | None = None
    paired: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired is not None:
            return self.paired
        if self.value is None or self.peer_value is None or self.peer_value == 0:
            return None
        return self.value / self.peer_value


def median_seconds(func: Callable[[], object], repeat: int = 7, number: int = 1) -> float:
    """Median wall time of ``number`` calls of ``func`` over ``repeat`` repeats, per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def check(ratio: float | None, op: str, bound: float) -> bool | None:
    """Whether ``ratio`` satisfies ``op bound`` (op is "<=" or ">=")."""
    if ratio is None:
        return None
    return ratio <= bound if op == "<=" else ratio >= bound


def interleaved_medians(
    funcs: Mapping[str, Callable[[], object]],
    repeat: int = 7,
    number: int = 1,
    *,
    before: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Median seconds per call of each function, their repeats interleaved round-robin.

    Interleaving spreads a noisy neighbour's load over every contender instead of whichever
    happened to run at that moment, which keeps the *ratios* meaningful on a shared machine.
    Each round starts one contender further on (the first runs first in round 1, second in
    round 2...), so none always runs right after the same one, whose garbage or cache state it
    would inherit in every repeat. ``before`` (e.g. ``gc.collect``) is called before each timed
    call, outside the timing.
    """
    return interleaved_wall_and_cpu(funcs, repeat, number, before=before)[0]


def interleaved_wall_and_cpu(
    funcs: Mapping[str, Callable[[], object]],
    repeat: int = 7,
    number: int = 1,
    *,
    before: Callable[[], object] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`interleaved_medians` and, from the same calls, the median CPU seconds per call
    (``time.process_time``: every thread of the process, none of the other processes whose
    load slows the wall clock on a shared machine): ``(wall, cpu)``."""
    wall: dict[str, list[float]] = {name: [] for name in funcs}
    cpu: dict[str, list[float]] = {name: [] for name in funcs}
    order = list(funcs.items())
    for round_ in range(repeat):
        shift = round_ % len(order)
        for name, func in order[shift:] + order[:shift]:
            if before is not None:
                before()
            start_cpu = time.process_time()
            start = time.perf_counter()
            for _ in range(number):
                func()
            wall[name].append((time.perf_counter() - start) / number)
            cpu[name].append((time.process_time() - start_cpu) / number)
    return (
        {name: statistics.median(values) for name, values in wall.items()},
        {name: statistics.median(values) for name, values in cpu.items()},
    )


def side_by_side(calls: Mapping[str, Callable[[], T]]) -> dict[str, T]:
    """Run every call at the same time, each in its own thread; their results by name (the
    first error raised, once all have returned).

    For contenders that are whole processes: run together, each meets the same load from the
    rest of a shared machine, whose speed drifts by a fifth and more between runs made a minute
    apart; a round's own ratio then compares like with like, where medians of runs made one
    after the other compare different minutes.
    """
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def compile_our_packages() -> None:
    """Write the bytecode of ``xray_core`` and ``pytest_xray`` as installing a wheel does.

    The benchmarks that start pytest processes compare them with pytest alone, whose bytecode pip
    wrote when it installed it. An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (this
    project's machines set it) never writes ours, so every process would compile our modules from
    source: a cost no installed copy pays, counted against us alone.
    """
    import compileall
    from pathlib import Path

    import pytest_xray
    import xray_core

    for package in (xray_core, pytest_xray):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
