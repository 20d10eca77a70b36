"""``xray report [RUN ...] -o FILE``: the HTML dashboard of a run, or a comparison of runs."""

from __future__ import annotations

import argparse

from ..diff import diff_runs
from ..models import Run, Trace
from ..outcomes import known_outcome, known_verdict
from ..report.data import ReportData, TestResult
from ..runref import short_id
from ..stability import decision_stability
from ..store.sqlite import SQLiteStore
from .common import (
    CommandSet,
    Context,
    UsageError,
    identifier,
    match_test,
    output_file,
    resolve,
    run_traces,
    text_arg,
)
from .diff import add_compare_options, summary_line


def register(commands: CommandSet) -> None:
    """Add ``xray report`` to the command line."""
    parser = commands.add(
        "report", help="write the HTML dashboard of a run (or compare runs)",
        description="Write a self-contained HTML dashboard. One run: its dashboard. Two runs "
                    "A B: the dashboard of B compared with A (decisions that changed, per "
                    "test), and the stability of each decision. More runs: B is the last, A the "
                    "one before it, and the stability is over all of them.",
    )  # fmt: skip
    parser.add_argument("runs", metavar="RUN", nargs="*", default=["latest"], type=identifier,
                        help="run references (default: latest)")  # fmt: skip
    parser.add_argument("-o", "--output", required=True, type=output_file, metavar="FILE",
                        help="the HTML file to write (parent folders are created)")  # fmt: skip
    parser.add_argument("--title", default=None, type=text_arg, help="the page title")
    add_compare_options(parser)
    parser.set_defaults(handler=run, json_ok=False)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Build the report data from the database and write the HTML file."""
    with ctx.open_store() as store:
        runs = resolve(store, args.runs)
        traces = [run_traces(store, r, args.test) for r in runs]
        tests = run_test_results(store, runs[-1], args.test)
    data = build_report_data(args, runs, traces, tests)
    from ..report import write_report  # jinja2 only for this command: keeps `xray` quick

    try:
        target = write_report(args.output, data)  # creates the parent folders
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write the report: {exc.strerror or exc}") from None
    ctx.say(f"report written: {target} ({_what(runs, data)})")
    return 0


def build_report_data(
    args: argparse.Namespace, runs: list[Run], traces: list[list[Trace]], tests: list[TestResult]
) -> ReportData:
    """The report of ``runs[-1]``, compared with ``runs[-2]`` and their stability when given."""
    data = ReportData(title=args.title or _title(runs), run=runs[-1], traces=traces[-1],
                      tests=tests)  # fmt: skip
    if len(runs) > 1:
        data.baseline_run, data.baseline_traces = runs[-2], traces[-2]
        data.comparison = diff_runs(
            traces[-2], traces[-1], args.ignore, tolerance=args.tolerance,
            include_llm=args.include_llm, include_reasoning=args.include_reasoning,
        )  # fmt: skip
        ordered = sorted(zip(runs, traces, strict=False), key=lambda pair: pair[0].started_at)
        data.stability = decision_stability(t for _, run_list in ordered for t in run_list)
    return data


def run_test_results(store: SQLiteStore, run: Run, pattern: str | None) -> list[TestResult]:
    """The tests of ``run`` as the report lists them (only those matching ``pattern``)."""
    return [
        TestResult(test_id=row["test_id"], outcome=known_outcome(row.get("outcome")),
                   duration_ms=row.get("duration_ms"), baseline=known_verdict(row.get("baseline")),
                   message=row.get("message"))
        for row in store.run_tests(run.run_id)
        if match_test(row["test_id"], pattern)
    ]  # fmt: skip


def _title(runs: list[Run]) -> str:
    names = [f"{short_id(r.run_id)} @ {short_id(r.git_commit) or 'no commit'}" for r in runs]
    if len(runs) == 1:
        return f"X-Ray report: run {names[0]}"
    return f"X-Ray report: run {names[-1]} compared with {names[-2]}"


def _what(runs: list[Run], data: ReportData) -> str:
    text = f"run {short_id(runs[-1].run_id)}, {len(data.traces)} trace(s)"
    if data.comparison is not None:
        text += f"; vs {short_id(runs[-2].run_id)}: {summary_line(data.comparison)}"
    return text
