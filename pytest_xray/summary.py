"""The terminal summary as data: :class:`XraySummary` and its ``lines`` (no terminal I/O here)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from gettext import ngettext
from typing import TYPE_CHECKING

from xray_core.outcomes import FAILING_VERDICTS, BaselineVerdict

from .paths import relpath, test_arg

if TYPE_CHECKING:
    from pathlib import Path

    from xray_core.store.base import RunRecord

    from .session import XraySession

#: how many failing node ids the "next step" command lists before falling back to the whole suite
MAX_IDS_IN_COMMAND = 3


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {ngettext(singular, plural, n)}"


@dataclass
class XraySummary:
    """What the plugin did in one session, and the text that tells the user."""

    traces: int = 0
    tests_with_traces: int = 0
    #: baseline files checked, by verdict (a test with two ``name=`` baselines counts two)
    verdicts: dict[BaselineVerdict, int] = field(default_factory=dict)
    #: tests whose baseline failed, was missing or unreadable (as pytest arguments)
    failing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    unused_deleted: bool = False
    unused_policy: str = "report"
    partial: bool = False
    #: why unused baselines were kept under --xray-update (the run was partial)
    kept_because: str | None = None
    report_path: str | None = None
    db_path: str | None = None
    #: what the ``xray`` command needs to find that database (`` --db PATH`` or nothing)
    db_option: str = ""
    run: RunRecord | None = None
    #: completed runs in the database, this one included (counted up to 2: enough for a diff)
    completed_runs: int = 0
    errors: list[str] = field(default_factory=list)
    #: what the user should know that changed nothing in the run's outcome
    notes: list[str] = field(default_factory=list)

    @property
    def has_content(self) -> bool:
        """False when the plugin had nothing to say (then nothing is printed)."""
        return bool(
            self.traces or self.verdicts or self.unused or self.report_path or self.db_path
            or self.errors or self.notes
        )  # fmt: skip

    def _baseline_line(self) -> str:
        order: tuple[BaselineVerdict, ...] = ("passed", "failed", "missing", "error", "written")
        parts = [f"{self.verdicts[v]} {v}" for v in order if self.verdicts.get(v)]
        total = sum(self.verdicts.values())
        return f"{_count(total, 'baseline', 'baselines')}: " + ", ".join(parts)

    def _unused_lines(self) -> list[tuple[str, str]]:
        if not self.unused or (self.unused_policy == "ignore" and not self.unused_deleted):
            return []
        n = len(self.unused)
        if self.unused_deleted:
            head, style = _count(n, "unused baseline deleted", "unused baselines deleted"), "cyan"
        else:
            head, style = _count(n, "unused baseline", "unused baselines"), "yellow"
        lines = [(head + ":", style)] + [(f"  {path}", style) for path in self.unused]
        if self.kept_because:
            lines.append((f"  not deleted: not every collected test ran ({self.kept_because})", style))
        return lines

    def _run_line(self) -> str:
        assert self.run is not None
        where = f"run {self.run.run_id[:12]} saved to {self.db_path}"
        if self.run.status != "completed":
            where = f"run {self.run.run_id[:12]} ({self.run.status}) saved to {self.db_path}"
        if self.run.git_commit:
            git = f"commit {self.run.git_commit[:10]}"
            git += f" on {self.run.git_branch}" if self.run.git_branch else ""
            git += ", dirty" if self.run.git_dirty else ""
            where += f" ({git})"
        return where

    def next_step(self) -> str:
        """The one thing to do next, as a sentence ending with a command when there is one."""
        if self.failing:
            ids = " ".join(shlex.quote(i) for i in self.failing[:MAX_IDS_IN_COMMAND])
            command = (
                f"pytest --xray-update {ids if len(self.failing) <= MAX_IDS_IN_COMMAND else ''}"
            )
            if self.verdicts.get("failed"):
                return (
                    "Next: review the changes above; if the new decisions are right, accept them "
                    f"with: {command.rstrip()}"
                )
            if self.verdicts.get("error"):
                return f"Next: fix or rewrite the unreadable baselines with: {command.rstrip()}"
            return f"Next: create the missing baselines with: {command.rstrip()}"
        if self.unused and not self.unused_deleted and self.unused_policy != "ignore":
            if self.partial:
                return "Next: run the whole suite with --xray-update to delete unused baselines."
            return "Next: re-run pytest with --xray-update to delete the unused baselines."
        if self.errors:
            return "Next: fix the errors above."
        if self.verdicts.get("written"):
            return "Next: review the written baselines (git diff) and commit them."
        if self.report_path:
            return f"Next: open {self.report_path} in a browser."
        if self.db_path:
            if self.run is not None and self.run.status == "completed" and self.completed_runs > 1:
                return (
                    "Next: compare with the previous run: "
                    f"xray diff{self.db_option} latest~1 latest"
                )
            return f"Next: see the kept runs with: xray runs{self.db_option}"
        return "Next: keep runs with --xray-db, or see the traces with --xray-report=PATH."

    def entries(self) -> list[tuple[str, str]]:
        """(text, rich style) pairs, one per line."""
        out: list[tuple[str, str]] = []
        if self.traces:
            tests = _count(self.tests_with_traces, "test", "tests")
            out.append((f"{_count(self.traces, 'trace', 'traces')} captured in {tests}", "bold"))
        if self.verdicts:
            bad = any(self.verdicts.get(v) for v in FAILING_VERDICTS)
            out.append((self._baseline_line(), "bold red" if bad else "green"))
        out += self._unused_lines()
        if self.report_path:
            out.append((f"report: {self.report_path}", ""))
        if self.run is not None and self.db_path:
            out.append((self._run_line(), ""))
        out += [(f"note: {n}", "yellow") for n in self.notes]
        out += [(f"error: {e}", "bold red") for e in self.errors]
        out.append((self.next_step(), "bold cyan"))
        return out

    @property
    def lines(self) -> list[str]:
        """The summary as plain text lines."""
        return [text for text, _ in self.entries()]

    def render(self, color: bool) -> list[str]:
        """The lines, styled with rich when ``color`` (pytest decided it: --color, NO_COLOR)."""
        if not color:
            return self.lines
        from rich.console import Console
        from rich.text import Text

        console = Console(
            force_terminal=True, no_color=False, color_system="standard", width=10_000
        )
        rendered = []
        for text, style in self.entries():
            with console.capture() as capture:
                console.print(Text(text, style=style), end="", soft_wrap=True)
            rendered.append(capture.get())
        return rendered


def build_summary(
    state: XraySession, unused: list[Path], deleted: bool, partial: str | None = None
) -> XraySummary:
    """The summary of ``state`` after the unused-baseline detection.

    :param partial: why the run was partial (not every collected test ran), or None.
    """
    verdicts: dict[BaselineVerdict, int] = {}
    failing = []
    for test_id, results in state.baselines.items():
        for result in results:
            verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
        if any(r.verdict in FAILING_VERDICTS for r in results):
            failing.append(test_arg(state, test_id))
    return XraySummary(
        traces=len(state.traces),
        tests_with_traces=sum(1 for t in state.by_test.values() if t),
        verdicts=verdicts,
        failing=failing,
        unused=[relpath(state, p) for p in unused],
        unused_deleted=deleted,
        unused_policy=state.options.unused,
        partial=partial is not None,
        kept_because=partial if unused and state.options.update else None,
    )
