"""``python -m demo``: records readable traces, prints the table, refuses bad arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import xray_core
from demo.__main__ import main

ROOT = Path(__file__).parents[2]


def read_traces(db: Path) -> list[xray_core.Trace]:
    store = xray_core.SQLiteStore(db, strict=True)
    try:
        return store.list_traces(limit=None)
    finally:
        store.close()


def test_two_runs_record_every_product_with_consecutive_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "nested" / "runs.db"
    assert main(["--runs", "2", "--seed", "5", "--db", str(db)]) == 0
    traces = read_traces(db)
    assert len(traces) == 8
    assert sorted(t.metadata["seed"] for t in traces) == [5] * 4 + [6] * 4
    assert {t.metadata["product_id"] for t in traces} == {
        "B0REF0001", "B0REF0002", "B0REF0003", "B0REF0004",
    }  # fmt: skip
    for trace in traces:
        assert trace.status == "completed"
        assert [s.name for s in trace.steps] == [
            "keyword_generation", "candidate_search", "filter_and_select",
        ]  # fmt: skip
    out = capsys.readouterr().out
    assert "Competitor selection" in out and "B0GOOD001" in out and "B0BUDS001" in out
    assert f"Recorded 8 traces into {db}" in out


def test_only_the_named_products(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    assert main(["--product", "B0REF0002", "--db", str(db)]) == 0
    (trace,) = read_traces(db)
    assert trace.metadata["selected"] == "B0BUDS001"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "argument --runs: --runs must be >= 1, got 0"),
        (["--runs", "two"], "argument --runs: --runs must be an integer, got 'two'"),
        (["--seed", "-1"], "argument --seed: --seed must be >= 0, got -1"),
        (["--product", "B0NOPE"], "argument --product: unknown product 'B0NOPE'"),
        (["--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--db", str(tmp_path / "x.db")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_db_that_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"not a database at all " * 100)
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(bad)])
    assert exit_info.value.code == 2
    assert f"--db {bad}:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--db", str(tmp_path)])
    assert "is a directory" in capsys.readouterr().err


def test_python_dash_m_demo(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--runs", "2", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Competitor selection" in result.stdout
    traces = read_traces(db)
    assert len(traces) == 8
    assert all(t.run_id is None and t.test_id is None for t in traces)  # plain traces, no run
