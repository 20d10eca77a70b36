"""Odd arguments are usage errors: one line on stderr, exit 2, nothing written, never a traceback.

The fuzz calls ``xray_core.cli.main`` in this process (a subprocess per example would be slow);
a few cases run the real command. NUL cannot travel through a real command line (the operating
system ends an argument at NUL), so those are checked in-process.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xray_core.cli import main

from .conftest import COMMIT_A, COMMIT_B, add_run
from .realcli import digest, one_line_error, xray


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("history") / "runs.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0)
    add_run(db, 20.0, commit=COMMIT_B, index=1)
    return db


def call(*args: object) -> tuple[int, str, str]:
    """``xray ARGS`` in this process, with output streams that encode as a real one would."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
        out.flush()
        err.flush()
    texts = [s.buffer.getvalue().decode("utf-8") for s in (out, err)]  # type: ignore[attr-defined]
    return status, texts[0], texts[1]


def assert_usage_error(result: tuple[int, str, str], *needles: str) -> None:
    status, out, err = result
    assert (status, out) == (2, ""), result
    assert err.count("\n") == 1 and err.startswith("xray"), err
    assert "Traceback" not in err and "internal error" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e309", "many"])
@pytest.mark.parametrize("command", ["diff", "report"])
def test_tolerance_must_be_a_finite_number_at_least_0(
    history: Path, tmp_path: Path, command: str, value: str
) -> None:
    args = ["diff", "latest~1", "latest"] if command == "diff" else \
        ["report", "latest~1", "latest", "-o", tmp_path / "r.html"]  # fmt: skip
    assert_usage_error(call(*args, f"--tolerance={value}", "--db", history),
                       "argument --tolerance: expected a")  # fmt: skip
    assert not (tmp_path / "r.html").exists()


NUL_CASES = {
    "show trace id": ["show", "ab\x00cd"],
    "diff run A": ["diff", "latest\x00", "latest"],
    "diff run B": ["diff", "latest", "\x00"],
    "diff test": ["diff", "latest~1", "latest", "--test", "t\x00"],
    "diff ignore": ["diff", "latest~1", "latest", "--ignore", "*\x00"],
    "report run": ["report", "la\x00test", "-o", "r.html"],
    "report test": ["report", "-o", "r.html", "--test", "\x00"],
    "export run": ["export", "\x00", "-o", "-"],
    "stability test": ["stability", "--test", "x\x00"],
    "traces name": ["traces", "--name", "n\x00"],
}


@pytest.mark.parametrize("case", NUL_CASES)
def test_nul_in_an_id_is_a_usage_error(history: Path, case: str) -> None:
    before = digest(history)
    assert_usage_error(call(*NUL_CASES[case], "--db", history), "contains a NUL character")
    assert digest(history) == before


@pytest.mark.parametrize("args", [
    ["runs", "--db", "a\x00b.db"], ["export", "latest", "-o", "e\x00.jsonl"],
    ["report", "-o", "r\x00.html"], ["import", "in\x00.jsonl"],
], ids=["--db", "export -o", "report -o", "import FILE"])  # fmt: skip
def test_nul_in_a_file_name_is_a_usage_error(history: Path, args: list[str]) -> None:
    extra = [] if "--db" in args else ["--db", str(history)]
    assert_usage_error(call(*args, *extra), "a file name cannot contain a NUL character")


def test_the_real_command_refuses_an_id_too_long_to_search(history: Path, tmp_path: Path) -> None:
    before = digest(history)
    long_id = "a" * 100_000
    for args in (["show", long_id], ["diff", long_id, "latest"], ["export", long_id, "-o", "-"],
                 ["diff", "latest~1", "latest", "--test", long_id]):  # fmt: skip
        err = one_line_error(xray(*args, "--db", history, cwd=tmp_path),
                             "is too long (100000 characters; at most 4096)")  # fmt: skip
        assert len(err) < 300  # the id is not echoed in full
    one_line_error(xray("diff", "latest~1", "latest", "--tolerance", "nan", "--db", history),
                   "argument --tolerance: expected a finite number >= 0, got 'nan'")  # fmt: skip
    one_line_error(xray("prune", "--before", "9999-12-31T23:59:59-05:00", "--db", history),
                   "is out of range in UTC")  # fmt: skip
    assert digest(history) == before


def test_show_without_an_id_points_to_the_listing(history: Path) -> None:
    assert_usage_error(call("show", "--db", history), "`xray traces` lists the recorded traces")


# -- fuzz: every command with odd values in every argument --------------------------------------
ODD_VALUES = st.one_of(
    st.sampled_from([
        "", " ", "-", "--", "-1", "0", "1", "nan", "inf", "1e309", "9" * 40, "latest",
        "latest~1", "latest~" + "9" * 4000, "HEAD", "%", "_", "[", "]", "*", "?", "\\", "~",
        "\x00", "a\x00b", "\udcff", "caf\udce9", "x" * 5000, "x" * 4096, "../..", "/", ".",
        "2026-01-01", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "running",
        "completed", "\n", "é" * 3, "[bold]x[/bold]",
    ]),
    st.text(st.characters(exclude_categories=()), max_size=20),  # surrogates and NUL included
)
TEMPLATES: dict[str, Callable[[str, Path], list[object]]] = {
    "runs --limit": lambda v, o: ["runs", "--limit", v],
    "traces --name": lambda v, o: ["traces", "--name", v],
    "traces --status": lambda v, o: ["traces", "--status", v],
    "traces --limit": lambda v, o: ["traces", "--limit", v, "--json"],
    "show": lambda v, o: ["show", v],
    "show --json": lambda v, o: ["show", v, "--json", "--all-items"],
    "diff A": lambda v, o: ["diff", v, "latest"],
    "diff B": lambda v, o: ["diff", "latest~1", v, "--json"],
    "diff --test": lambda v, o: ["diff", "latest~1", "latest", "--test", v],
    "diff --ignore": lambda v, o: ["diff", "latest~1", "latest", "--ignore", v, "--drift"],
    "diff --tolerance": lambda v, o: ["diff", "latest~1", "latest", "--tolerance", v],
    "history TEST": lambda v, o: ["history", v],
    "history --item": lambda v, o: ["history", "test_pick", "--item", v, "--json"],
    "history --step": lambda v, o: ["history", "test_pick", "--step", v],
    "history --trace": lambda v, o: ["history", "test_pick", "--trace", v],
    "history --last": lambda v, o: ["history", "test_pick", "--last", v],
    "report RUN": lambda v, o: ["report", v, "-o", o / "r.html"],
    "report --title": lambda v, o: ["report", "latest~1", "latest", "-o", o / "r.html",
                                    "--title", v],
    "report -o": lambda v, o: ["report", "-o", str(o / "out") + "/" + v],
    "stability --last": lambda v, o: ["stability", "--last", v],
    "stability --test": lambda v, o: ["stability", "--test", v, "--all"],
    "export RUN": lambda v, o: ["export", v, "-o", "-"],
    "export -o": lambda v, o: ["export", "latest", "-o", str(o / "out") + "/" + v],
    "import FILE": lambda v, o: ["import", str(o / "missing") + v],
    "prune --keep": lambda v, o: ["prune", "--keep", v, "--dry-run"],
    "prune --before": lambda v, o: ["prune", "--before", v, "--dry-run"],
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: a valid port fails to bind (exit 2)
    # instead of serving forever in this process; tests/serve/ runs the server for real
    "serve --port": lambda v, o: ["serve", "--host", "192.0.2.1", "--port", v],
    "command": lambda v, o: [v],
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(sorted(TEMPLATES)), value=ODD_VALUES)
def test_no_odd_argument_ends_in_a_traceback_or_an_internal_error(
    history: Path, tmp_path_factory: pytest.TempPathFactory, template: str, value: str
) -> None:
    out = tmp_path_factory.getbasetemp() / "fuzz-output"
    before = digest(history)
    status, stdout, stderr = call(*TEMPLATES[template](value, out), "--db", history)
    assert status in (0, 1, 2), (status, stderr)
    if status == 2:
        assert stdout == "" and stderr.count("\n") == 1 and stderr.startswith("xray"), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert digest(history) == before


def test_the_fuzz_reaches_every_command() -> None:
    from xray_core.cli import build_parser

    commands = {t.split()[0] for t in TEMPLATES} - {"command"}
    (action,) = [a for a in build_parser()._subparsers._group_actions]  # type: ignore[union-attr]
    assert commands == set(action.choices)  # type: ignore[attr-defined]
    assert sys.maxsize >= 2**63 - 1  # `traces --limit` clamps to SQLite's 64-bit LIMIT
