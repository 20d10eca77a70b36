"""``xray history TEST``: one decision run by run across commits, and since when it holds."""

from __future__ import annotations

import argparse
import shlex
import subprocess
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..history import DecisionHistory, Observation, RunRecord, Streak, decision_histories
from ..models import Run
from ..runref import short_id
from ..runstate import shown_status
from ..store.sqlite import SQLiteStore
from .common import (
    CommandSet,
    Context,
    UsageError,
    all_runs,
    identifier,
    match_test,
    pattern,
    positive_int,
    run_json,
)

DEFAULT_LAST = 50
_LISTED = 10  # names listed in an error message


def register(commands: CommandSet) -> None:
    """Add ``xray history`` to the command line."""
    parser = commands.add(
        "history", help="one decision run by run across commits: since when it holds",
        description="Follow a test's decisions through the run history, oldest run first: each "
                    "run's commit, branch, date and status, the item's verdict with the "
                    "deciding filters' details, each change marked; then since which run and "
                    "commit the current verdict holds, and the `git bisect` lines that would "
                    "find the commit when runs are missing between the two. Without --item: "
                    "every item whose verdict changed, most recent change first. A test that "
                    "did not finish in a run (interrupted, deselected) is 'not run' there, "
                    "never a change.",
    )  # fmt: skip
    parser.add_argument("test", metavar="TEST", type=pattern,
                        help="the test: its node id, a part of it, or a glob (* ? [)")  # fmt: skip
    parser.add_argument("--trace", metavar="NAME", type=identifier,
                        help="only traces with this name")  # fmt: skip
    parser.add_argument("--item", metavar="ID", type=identifier,
                        help="the item (candidate id) to follow, run by run")  # fmt: skip
    parser.add_argument("--step", metavar="NAME", type=identifier,
                        help="only this step (as diffs name it: 'select/rank', "
                             "'filter#2')")  # fmt: skip
    parser.add_argument("--last", metavar="N", type=positive_int, default=DEFAULT_LAST,
                        help=f"the N most recent runs (default {DEFAULT_LAST})")  # fmt: skip
    parser.set_defaults(handler=run, json_ok=True)


@dataclass(frozen=True)
class Culprit:
    """Where the latest change happened: the last run before it and the first run after."""

    good: Observation  #: the last run with the previous verdict
    bad: Observation  #: the first run with the current verdict
    commits_between: int | None  #: commits in good..bad (None: not known here)
    descends: bool | None  #: whether bad's commit descends from good's (None: not known)

    @property
    def commits(self) -> tuple[str | None, str | None]:
        """The two runs' commits (full SHAs)."""
        return self.good.run.git_commit, self.bad.run.git_commit

    @property
    def needs_bisect(self) -> bool:
        """Commits without a run lie between the two (or it cannot be known here)."""
        good, bad = self.commits
        if good is None or bad is None or good == bad or self.descends is False:
            return False
        return self.commits_between is None or self.commits_between > 1


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print the history of the chosen decisions."""
    with ctx.open_store() as store:
        every = all_runs(store)
        window = list(reversed(every[: args.last]))  # oldest first
        records = _records(store, window, args.test)
        if not any(record.tests for record in records):
            recorded = {row["test_id"] for r in window for row in store.run_tests(r.run_id)}
            raise UsageError(f"no test matching {args.test!r} finished in the last "
                             f"{len(window)} run(s){_known(recorded)}")  # fmt: skip
    traces = [t for record in records for t in record.traces]
    followed = decision_histories(records)
    histories = _chosen(followed, args, traces, len(window))
    truncated = len(every) > len(window)
    if args.item is None:
        histories = sorted((h for h in histories if h.changes), key=_last_change, reverse=True)
    culprits = {h.key: _culprit(h) for h in histories}
    if ctx.as_json:
        ctx.print_json({
            "test": args.test, "item": args.item, "runs": [run_json(r) for r in window],
            "decisions_followed": len(followed),
            "histories": [_history_json(h, culprits[h.key], truncated) for h in histories],
        })  # fmt: skip
    elif args.item is None:
        _print_changed(ctx, histories, len(followed), len(window), truncated)
    else:
        for history in histories:
            _print_history(ctx, history, culprits[history.key], truncated)
    return 0


def _records(store: SQLiteStore, window: list[Run], test: str) -> list[RunRecord]:
    """Each run's tests matching ``test`` that it finished, and their traces.

    A completed run finished every test it recorded; a run that did not complete only those in
    its test rows (a test cut by the interruption may have left a trace). The traces are read
    as ``xray serve`` reads them (:class:`~xray_core.serve.content.TraceContents`): as stored,
    each distinct content parsed and normalized once (500 runs of a test that records the same
    few contents: a handful, not 5,000), in one go for the whole window.
    """
    from ..serve.content import TraceContents  # not every command reads traces this way
    from ..serve.database import ServedDatabase

    served = ServedDatabase(store.path)
    try:
        by_run = TraceContents().runs_traces(served, [r.run_id for r in window], test)
    finally:
        served.close()
    records = []
    for run, traces in zip(window, by_run, strict=True):
        finished = {row["test_id"] for row in store.run_tests(run.run_id)}
        if run.status == "completed" and not finished:  # an imported run may have no test rows
            kept = [t for t in traces if match_test(t.test_id, test)]
            records.append(RunRecord(run, frozenset(t.test_id or "" for t in kept), kept))
            continue
        matching = frozenset(t for t in finished if match_test(t, test))
        records.append(RunRecord(run, matching, [t for t in traces if t.test_id in matching]))
    return records


def _known(names: list[str] | set[str], what: str = "recorded tests") -> str:
    if not names:
        return ""
    ordered = sorted(names)
    listed = ", ".join(ordered[:_LISTED]) + (" ..." if len(ordered) > _LISTED else "")
    return f"; {what}: {listed}"


def _chosen(
    histories: list[DecisionHistory], args: argparse.Namespace, traces: list[Any], runs: int
) -> list[DecisionHistory]:
    """``histories`` narrowed by --trace, --step and --item; naming nothing is a usage error."""
    where = f"the tests matching {args.test!r} in the last {runs} run(s)"
    if args.trace is not None:
        if not any(t.name == args.trace for t in traces):
            raise UsageError(f"no trace named {args.trace!r} in {where}"
                             f"{_known({t.name for t in traces}, 'their traces')}")  # fmt: skip
        histories = [h for h in histories if h.trace_name == args.trace]
    if args.step is not None:
        steps = {h.step for h in histories}
        if args.step not in steps:
            raise UsageError(f"no step {args.step!r} evaluated items in {where}"
                             f"{_known(steps, 'steps with decisions')}")  # fmt: skip
        histories = [h for h in histories if h.step == args.step]
    if args.item is not None:
        items = {h.item_id for h in histories}
        if args.item not in items:
            raise UsageError(f"item {args.item!r} was not evaluated in {where}"
                             f"{_known(items, 'items')}")  # fmt: skip
        histories = [h for h in histories if h.item_id == args.item]
    if not histories and args.item is None:
        raise UsageError(f"no decision (evaluated item) recorded in {where}")
    return histories


def _last_change(history: DecisionHistory) -> tuple[Any, ...]:
    current = history.current
    assert current is not None
    return (current.first.run.started_at, history.key)


# -- where the change happened ------------------------------------------------------------------
def _culprit(history: DecisionHistory) -> Culprit | None:
    current, previous = history.current, history.previous
    if current is None or previous is None:
        return None
    good, bad = previous.last.run.git_commit, current.first.run.git_commit
    between = descends = None
    if good and bad and good != bad:
        between = _git_count(good, bad)
        descends = _git_descends(good, bad)
    return Culprit(previous.last, current.first, between, descends)


def _git(*args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def _git_count(good: str, bad: str) -> int | None:
    """``git rev-list --count good..bad`` here, or None (no git, not this repository's)."""
    done = _git("rev-list", "--count", f"{good}..{bad}", "--")
    if done is None or done.returncode != 0 or not done.stdout.strip().isdigit():
        return None
    return int(done.stdout.strip())


def _git_descends(good: str, bad: str) -> bool | None:
    done = _git("merge-base", "--is-ancestor", good, bad)
    if done is None or done.returncode not in (0, 1):
        return None
    return done.returncode == 0


def bisect_lines(culprit: Culprit, test_id: str) -> list[str]:
    """The commands that would find the commit (printed, never run)."""
    good, bad = culprit.commits
    return [f"git bisect start {bad} {good}", f"git bisect run pytest {shlex.quote(test_id)}"]


# -- words ----------------------------------------------------------------------------------------
def _where(run: Run) -> str:
    """A run as the history names it: its short commit, else its run id."""
    return short_id(run.git_commit) if run.git_commit else f"run {short_id(run.run_id)}"


def _date(run: Run) -> str:
    return run.started_at.strftime("%Y-%m-%d")


def summary(history: DecisionHistory, truncated: bool = False) -> str:
    """``B0CHEAP: qualified since 3f2a91c0 (2026-11-28) — rejected by price in the 14 runs
    before``, or how long the verdict held when it never changed."""
    current, previous = history.current, history.previous
    item = history.item_id
    if current is None:
        return f"{item}: not run in the runs shown"
    if previous is None:
        held = f"{item}: {current.verdict} in all {len(current.observations)} run(s) shown"
        return held + (" (--last N looks further back)" if truncated else "")
    run = current.first.run
    text = (f"{item}: {current.verdict} since {_where(run)} ({_date(run)}) — {previous.verdict} "
            f"in the {len(previous.observations)} run(s) before")  # fmt: skip
    if truncated and len(history.streaks) == 2:  # the previous verdict reaches the window start
        text += ", back to the oldest run shown (--last N looks further back)"
    return text


def culprit_lines(culprit: Culprit) -> list[str]:
    """Between which commits the latest change happened, in words."""
    good_run, bad_run = culprit.good.run, culprit.bad.run
    good, bad = culprit.commits
    dirty = " (that run had uncommitted changes)" if bad_run.git_dirty else ""
    if good is None or bad is None:
        return [f"the change happened between {_where(good_run)} and {_where(bad_run)} "
                "(a run without a git commit: no commit to bisect)"]  # fmt: skip
    if good == bad:
        return [f"both runs are at commit {short_id(bad)}: the change is not a commit's "
                f"(uncommitted changes, or a non-deterministic decision: see `xray stability`)"]
    if culprit.descends is False:
        return [f"the change happened between {short_id(good)} and {short_id(bad)}, which does "
                "not descend from it (another branch)"]  # fmt: skip
    if culprit.commits_between == 1:
        return [f"the change came with commit {short_id(bad)}, the one right after "
                f"{short_id(good)}{dirty}"]  # fmt: skip
    if culprit.commits_between is None:
        between = "commits in between unknown here (not in this git repository)"
    else:
        between = f"{culprit.commits_between - 1} commit(s) in between without a run of the test"
    return [f"the change happened between {short_id(good)} ({_date(good_run)}, "
            f"{culprit.good.verdict}) and {short_id(bad)} ({_date(bad_run)}, "
            f"{culprit.bad.verdict}): {between}{dirty}"]  # fmt: skip


def _context(history: DecisionHistory) -> str:
    where = history.test_id or "(no test)"
    return f"{where} :: {history.trace_name}, step {history.step!r}"


# -- rendering ------------------------------------------------------------------------------------
_VERDICT_STYLE = {"qualified": "green", "not run": "dim", "not evaluated": "yellow"}


def _print_history(
    ctx: Context, history: DecisionHistory, culprit: Culprit | None, truncated: bool
) -> None:
    ctx.say(Text(f"{history.item_id} in {_context(history)}", style="bold"))
    ctx.console.print(history_table(history))
    ctx.say(Text(summary(history, truncated), style="bold"))
    if culprit is None:
        return
    for line in culprit_lines(culprit):
        ctx.say(line)
    if culprit.needs_bisect:
        ctx.say("to find the commit, run (the test must fail with the new verdict):")
        for line in bisect_lines(culprit, history.test_id):
            ctx.say(Text(f"  {line}", style="cyan"))


def history_table(history: DecisionHistory) -> Table:
    """The decision run by run, oldest first (user data as plain text, never markup)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True, expand=True,
                  caption="oldest run first, times in UTC; * = uncommitted changes (run ids: --json)",
                  caption_justify="left")  # fmt: skip
    for name in ("commit", "date", "status"):
        table.add_column(name, no_wrap=True)
    table.add_column("verdict", overflow="fold")
    table.add_column("detail", overflow="fold", ratio=1)
    table.add_column("", no_wrap=True)
    for obs in history.observations:
        r = obs.run
        commit = Text(short_id(r.git_commit) or "-")
        if r.git_dirty:
            commit.append("*", style="bold yellow")
        if r.git_branch:
            commit.append(f" {r.git_branch}", style="cyan")
        status = shown_status(r)
        style = _VERDICT_STYLE.get(obs.verdict, "red" if obs.counted else "dim")
        table.add_row(
            commit, r.started_at.strftime("%Y-%m-%d %H:%M"),
            Text(status, style="" if status == "completed" else "yellow"),
            Text(obs.verdict, style=style), _detail_cell(obs),
            Text("◀ changed", style="bold yellow") if obs.changed else Text(""),
        )  # fmt: skip
    return table


def _detail_cell(obs: Observation) -> Text:
    """The deciding filters' details, then how the item moved in the output lists (dim)."""
    text = Text("\n".join(obs.filters))
    for move in obs.moves:
        text.append(("\n" if text else "") + move, style="dim")
    return text


def _print_changed(
    ctx: Context, histories: list[DecisionHistory], followed: int, runs: int, truncated: bool
) -> None:
    for history in histories:
        ctx.say(Text(summary(history, truncated), style="bold"))
        ctx.say(Text(f"  {_context(history)}", style="dim"))
    style = "bold yellow" if histories else "bold green"
    ctx.say(Text(f"{len(histories)} of {followed} decision(s) changed over {runs} run(s), most "
                 "recent change first", style=style))  # fmt: skip
    if histories:
        where = "" if ctx.db is None else f" --db {shlex.quote(str(ctx.db))}"
        first = histories[0]
        ctx.say(Text(f"follow one run by run: xray history {shlex.quote(first.test_id)} "
                     f"--item {shlex.quote(first.item_id)}{where}", style="dim"))  # fmt: skip


# -- JSON -----------------------------------------------------------------------------------------
def _observation_json(obs: Observation) -> dict[str, Any]:
    r = obs.run
    return {
        "run_id": r.run_id, "git_commit": r.git_commit, "git_branch": r.git_branch,
        "git_dirty": r.git_dirty, "started_at": run_json(r)["started_at"],
        "run_status": shown_status(r), "state": obs.state, "verdict": obs.verdict,
        "qualified": obs.qualified, "detail": obs.detail, "changed": obs.changed,
        "moves": list(obs.moves),
    }  # fmt: skip


def _streak_json(streak: Streak | None) -> dict[str, Any] | None:
    if streak is None:
        return None
    return {"verdict": streak.verdict, "runs": len(streak.observations),
            "first_run_id": streak.first.run.run_id, "first_commit": streak.first.run.git_commit,
            "last_run_id": streak.last.run.run_id, "last_commit": streak.last.run.git_commit}


def _history_json(
    history: DecisionHistory, culprit: Culprit | None, truncated: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "test_id": history.test_id, "trace": history.trace_name, "step": history.step,
        "item_id": history.item_id, "changes": history.changes,
        "current": _streak_json(history.current), "previous": _streak_json(history.previous),
        "summary": summary(history, truncated), "change": None,
        "observations": [_observation_json(o) for o in history.observations],
    }  # fmt: skip
    if culprit is not None:
        good, bad = culprit.commits
        data["change"] = {
            "good_commit": good, "bad_commit": bad, "good_run_id": culprit.good.run.run_id,
            "bad_run_id": culprit.bad.run.run_id, "commits_between": culprit.commits_between,
            "descends": culprit.descends, "words": culprit_lines(culprit),
            "bisect": bisect_lines(culprit, history.test_id) if culprit.needs_bisect else None,
        }  # fmt: skip
    return data
