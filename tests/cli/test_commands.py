"""Each ``xray`` command in-process, on histories written with the real store and recorder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from xray_core import Run, SQLiteStore

from .conftest import COMMIT_A, COMMIT_B, add_run, select_competitors

Cli = Callable[..., tuple[int, str, str]]
History = tuple[Path, list[Run]]


def test_runs_table_and_json(cli: Cli, history: History) -> None:
    db, runs = history
    status, out, err = cli("runs", "--db", db)
    assert (status, err) == (0, "")
    assert "3 run(s), most recent first" in out
    rows = [line for line in out.splitlines() if runs[0].run_id[:8] in line]
    assert rows and "aaaaaaaa main" in rows[0]
    assert out.index(runs[2].run_id[:8]) < out.index(runs[0].run_id[:8])  # newest first

    status, out, _ = cli("runs", "--db", db, "--limit", "2", "--json")
    listed = json.loads(out)
    assert [r["run_id"] for r in listed] == [runs[2].run_id, runs[1].run_id]
    assert listed[0]["git_commit"] == COMMIT_B and listed[0]["counts"]["tests"] == 1


def test_default_db_is_found_from_a_subfolder(cli: Cli, history: History,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db, _runs = history
    sub = db.parent.parent / "pkg" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    status, out, _ = cli("runs", "--json")
    assert status == 0 and len(json.loads(out)) == 3


def test_show_prefix_tree_and_json(cli: Cli, history: History) -> None:
    db, runs = history
    with SQLiteStore(db) as store:
        trace = store.list_traces(1, run_id=runs[2].run_id)[0]
    status, out, _ = cli("show", "--db", db, trace.trace_id[:10])
    assert status == 0
    for text in ("competitor-selection", "keyword_generation", "filter_and_select",
                 "4 evaluated, 3 rejected", "price (15.00 vs min 20.00)",
                 "reasoning: 1 of 4 qualified", "model=mock-llm",
                 "tests/test_pick.py::test_pick"):  # fmt: skip
        assert text in out
    rejected = [out.index(item) for item in ("B01", "B02", "B03")]
    assert max(rejected) < out.rindex("B04")  # rejected first (B04 also shows in the output)
    status, out, _ = cli("show", "--db", db, trace.trace_id, "--json")
    assert json.loads(out)["trace_id"] == trace.trace_id


def test_show_prints_user_text_literally(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = add_run(db, 10.0, commit=COMMIT_A, index=0, tests=("t.py::test_[bold]red[/bold]",))
    with SQLiteStore(db) as store:
        trace_id = store.list_traces(1, run_id=run.run_id)[0].trace_id
    status, out, _ = cli("show", "--db", db, trace_id)
    assert status == 0 and "t.py::test_[bold]red[/bold]" in out


def test_show_unknown_and_ambiguous_trace(cli: Cli, history: History) -> None:
    db, _runs = history
    status, out, err = cli("show", "--db", db, "zz")
    assert (status, out) == (2, "") and "no trace id starts with 'zz'" in err
    with SQLiteStore(db, strict=True) as store:
        trace = store.list_traces(1)[0]
        store.save_traces(
            trace.model_copy(update={
                "trace_id": new_id,
                "steps": [s.model_copy(update={"trace_id": new_id, "step_id": new_id + s.name})
                          for s in trace.steps],
            })
            for new_id in ("same-1", "same-2")
        )  # fmt: skip
    status, out, err = cli("show", "--db", db, "same")
    assert (status, out) == (2, "")
    assert err == "xray: error: trace 'same' is ambiguous; it matches: same-1, same-2\n"
    status, out, _ = cli("show", "--db", db, "same-2")
    assert status == 0 and "same-2" in out


def test_diff_flip_exits_1_and_explains(cli: Cli, history: History) -> None:
    db, _runs = history
    status, out, err = cli("diff", "--db", db, "latest~1", "latest")
    assert (status, err) == (1, "")
    assert "tests/test_pick.py::test_pick :: competitor-selection" in out
    assert "B02: qualified -> rejected by price" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("decisions differ: 1 trace(s) compared, 1 changed")


def test_diff_same_commit_exits_0(cli: Cli, history: History) -> None:
    db, runs = history
    status, out, _ = cli("diff", "--db", db, runs[0].run_id[:12], runs[1].run_id)
    assert status == 0
    assert "no differences: 1 trace(s) compared, 0 changed" in out
    assert "same run" not in out
    status, out, _ = cli("diff", "--db", db, "latest", runs[2].run_id[:6])
    assert status == 0 and "note: A and B are the same run" in out


def test_diff_by_commit_and_json(cli: Cli, history: History) -> None:
    db, runs = history
    status, out, _ = cli("diff", "--db", db, COMMIT_A[:10], COMMIT_B[:7], "--json")
    data = json.loads(out)
    assert status == 1 and data["differs"] is True
    assert data["a"]["run_id"] == runs[1].run_id  # the commit's latest run
    assert data["b"]["run_id"] == runs[2].run_id
    (changed,) = data["changed"]
    assert (changed["test_id"], changed["trace"], changed["occurrence"]) == (
        "tests/test_pick.py::test_pick", "competitor-selection", 0)  # fmt: skip
    with SQLiteStore(db) as store:
        trace_a, trace_b = (store.get_trace(changed[f"trace_id_{side}"]) for side in "ab")
    assert trace_a is not None and trace_a.run_id == runs[1].run_id
    assert trace_b is not None and trace_b.run_id == runs[2].run_id
    flip = changed["changes"][0]
    assert flip["kind"] == "DecisionChanged" and flip["item_id"] == "B02" and flip["flipped"]
    assert flip["before"]["qualified"] is True and flip["after"]["qualified"] is False
    assert {d["kind"] for d in changed["drift"]} == {"ReasoningChanged"}


def test_diff_ignore_and_test_pattern(cli: Cli, history: History) -> None:
    db, _ = history
    status, out, _ = cli("diff", "--db", db, "latest~1", "latest",
                         "--ignore", "filter_and_select.evaluations.*",
                         "--ignore", "filter_and_select.output")  # fmt: skip
    assert status == 0, out
    status, _, _ = cli("diff", "--db", db, "latest~1", "latest", "--test", "test_pick")
    assert status == 1
    status, _, err = cli("diff", "--db", db, "latest~1", "latest", "--test", "*nothing*")
    assert status == 2 and "--test '*nothing*'" in err


def test_diff_reports_traces_only_in_one_run(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    add_run(db, 10.0, commit=COMMIT_A, index=0, tests=("t.py::old", "t.py::kept"))
    add_run(db, 10.0, commit=COMMIT_B, index=1, tests=("t.py::kept", "t.py::new"), repeats=2)
    status, out, _ = cli("diff", "--db", db, "latest~1", "latest")
    assert status == 0  # unpaired traces are listed, they are not decision changes
    assert "only in A (1):\n  t.py::old :: competitor-selection" in out
    assert "only in B (3):" in out and "t.py::kept :: competitor-selection #2" in out
    assert "2 only in A" not in out and "1 only in A, 3 only in B" in out


def test_stability_across_runs_and_repeats(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    for index, price in enumerate((10.0, 20.0, 10.0)):  # B02 flips twice
        add_run(db, price, commit=COMMIT_A, index=index)
    status, out, _ = cli("stability", "--db", db, "--json")
    data = json.loads(out)
    assert status == 0
    first = data["decisions"][0]
    assert (first["item_id"], first["flips"], first["flip_rate"]) == ("B02", 2, 1.0)
    assert first["rejected_by"] == {"price": 1}
    assert all(d["stable"] for d in data["decisions"][1:])
    status, out, _ = cli("stability", "--db", db, "--fail-unstable")
    assert status == 1 and "1 of 4 decision(s) unstable over 3 run(s), 3 trace(s)" in out
    status, out, _ = cli("stability", "--db", db, "--last", "1", "--fail-unstable")
    assert status == 0 and "0 of 4 decision(s) unstable over 1 run(s)" in out


def test_stability_within_one_run(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = add_run(db, 10.0, commit=COMMIT_A, index=0)
    extra = select_competitors(20.0, test_id="tests/test_pick.py::test_pick", run_id=run.run_id,
                               when=run.started_at.replace(minute=30))  # fmt: skip
    with SQLiteStore(db, strict=True) as store:
        store.save_traces([extra])
    _status, out, _ = cli("stability", "--db", db, "--last", "1", "--json", "--test", "test_pick")
    first = json.loads(out)["decisions"][0]
    assert (first["item_id"], first["observations"], first["flips"]) == ("B02", 2, 1)


def test_prune_keep_before_and_dry_run(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    runs = [add_run(db, 10.0, commit=COMMIT_A, index=i) for i in range(4)]
    status, out, _ = cli("prune", "--db", db, "--keep", "2", "--dry-run")
    assert status == 0 and "would delete 2 run(s), kept 2" in out
    status, out, _ = cli("prune", "--db", db, "--keep", "3", "--json")
    assert json.loads(out) == {"deleted": [runs[0].run_id], "kept": 3}
    status, out, _ = cli("prune", "--db", db, "--before", runs[2].started_at.isoformat())
    assert status == 0 and "deleted 1 run(s), kept 2" in out
    with SQLiteStore(db) as store:
        assert [r.run_id for r in store.list_runs()] == [runs[3].run_id, runs[2].run_id]
        assert {t.run_id for t in store.list_traces(None)} == {runs[3].run_id, runs[2].run_id}
        assert store.run_tests(runs[1].run_id) == []


def test_export_import_commands(cli: Cli, history: History, tmp_path: Path) -> None:
    db, runs = history
    target = tmp_path / "out" / "runs.jsonl"
    status, out, _ = cli("export", "--db", db, "latest", "latest~2", "-o", target)
    assert status == 0 and "exported 2 run(s)" in out and target.is_file()
    copy = tmp_path / "copy.db"
    for expected_added in (2, 0):  # the second import adds nothing
        status, out, _ = cli("import", "--db", copy, target, "--json")
        (result,) = json.loads(out)["files"]
        assert status == 0 and len(result["added"]) == expected_added
    status, out, _ = cli("diff", "--db", copy, runs[0].run_id, runs[2].run_id)
    assert status == 1  # the imported history answers the same question


def test_import_is_all_or_nothing_across_files(cli: Cli, history: History,
                                               tmp_path: Path) -> None:
    db, _ = history
    good = tmp_path / "good.jsonl"
    assert cli("export", "--db", db, "latest", "-o", good)[0] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text().splitlines()[0] + "\n{oops\n")
    copy = tmp_path / "copy.db"
    status, out, err = cli("import", "--db", copy, good, bad)
    assert status == 2 and out == ""
    assert err == f"xray: error: {bad}:2: not valid JSON (Expecting property name enclosed in " \
                  "double quotes at column 2); nothing was imported from it\n"  # fmt: skip
    assert not copy.exists()


def test_json_refused_where_there_is_none(cli: Cli, history: History) -> None:
    db, _ = history
    status, _, err = cli("report", "--db", db, "-o", "r.html", "--json")
    assert status == 2 and "has no --json output" in err


def test_export_to_stdout_and_import_into_a_new_default_db(
    cli: Cli, history: History, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, runs = history
    status, out, _ = cli("export", "--db", db, "latest", "-o", "-")
    lines = out.splitlines()
    assert status == 0 and json.loads(lines[0])["format"] == "xray-runs"
    assert json.loads(lines[1])["run"]["run_id"] == runs[2].run_id
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no .xray/runs.db here or above
    (elsewhere / "in.jsonl").write_text(out)
    monkeypatch.chdir(elsewhere)
    status, out, _ = cli("import", "in.jsonl")
    assert status == 0 and "1 run(s) added" in out
    with SQLiteStore(elsewhere / ".xray" / "runs.db") as store:
        assert [r.run_id for r in store.list_runs()] == [runs[2].run_id]


def test_corrupt_row_is_a_one_line_error_naming_it(cli: Cli, history: History) -> None:
    import sqlite3

    db, runs = history
    conn = sqlite3.connect(db)
    (trace_id,) = conn.execute("SELECT trace_id FROM traces WHERE run_id = ?",
                               [runs[2].run_id]).fetchone()  # fmt: skip
    conn.execute("UPDATE traces SET metadata = '{not json' WHERE trace_id = ?", [trace_id])
    conn.execute("UPDATE runs SET counts = '[1' WHERE run_id = ?", [runs[0].run_id])
    conn.commit()
    conn.close()
    status, out, err = cli("diff", "--db", db, "latest~1", "latest")
    assert (status, out) == (2, "")
    assert err.startswith(f"xray: error: {db}: the stored run '{runs[0].run_id}' cannot be read: "
                          "JSONDecodeError: ") and err.count("\n") == 1  # fmt: skip
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET counts = '{}'")
    conn.commit()
    conn.close()
    status, out, err = cli("diff", "--db", db, "latest~1", "latest")
    assert (status, out) == (2, "")
    assert err.startswith(f"xray: error: {db}: the stored trace '{trace_id}' cannot be read: "
                          "JSONDecodeError: ") and err.count("\n") == 1  # fmt: skip


def test_show_nested_and_failed_steps(cli: Cli, tmp_path: Path) -> None:
    from xray_core import XRay

    db = tmp_path / "x.db"
    store = SQLiteStore(db, strict=True)
    with pytest.raises(ValueError, match="ranker exploded"):
        with XRay(store=store).trace("ranking") as trace:
            with trace.step("outer", input={"n": 3}) as outer:
                with outer.step("inner") as inner:
                    inner.set_reasoning("sorted by reviews")
                with outer.step("broken"):
                    raise ValueError("ranker exploded")
    store.close()
    status, out, _ = cli("show", "--db", db, trace.trace_id)
    assert status == 0
    lines = out.splitlines()
    outer_line = next(i for i, line in enumerate(lines) if "outer" in line)
    inner_line = next(i for i, line in enumerate(lines) if "inner" in line)
    assert lines[inner_line].index("inner") > lines[outer_line].index("outer")  # nested deeper
    assert "✗ ranking" in lines[0] and "failed" in lines[0]
    assert "error: ValueError: ranker exploded" in out and "reasoning: sorted by reviews" in out


def test_prune_on_an_empty_history_is_not_an_error(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    SQLiteStore(db, strict=True).close()
    status, out, err = cli("prune", "--db", db, "--keep", "5")
    assert (status, err) == (0, "") and "deleted 0 run(s), kept 0" in out


def test_show_keeps_a_long_prompt_on_the_llm_line(cli: Cli, tmp_path: Path) -> None:
    from xray_core import XRay

    db = tmp_path / "x.db"
    store = SQLiteStore(db, strict=True)
    with XRay(store=store).trace("chat") as trace:
        with trace.step("ask") as step:
            step.add_llm_metadata(model="mock-llm", temperature=0.2, prompt="You find products.\n"
                                  "Title: steel bottle\n" + "x" * 300, response="steel, bottle")  # fmt: skip
    store.close()
    status, out, _ = cli("show", "--db", db, trace.trace_id)
    assert status == 0
    (line,) = [line for line in out.splitlines() if "llm:" in line]
    assert "model=mock-llm" in line and "prompt=You find products. Title: steel bottle" in line
    assert "response=steel, bottle" in line and "x" * 100 not in out  # one line, clipped


@pytest.mark.parametrize(("pattern", "selected"), [
    ("test_pick[B01]", True),  # a node id pasted from pytest's output, brackets and all
    ("tests/test_pick.py::test_pick[B01]", True),
    ("*::test_pick[[]B01]", True),  # a glob still matches the whole id
    ("*::test_pick", False),
    ("test_pick[B02]", False),
])  # fmt: skip
def test_test_pattern_takes_a_pasted_parametrized_node_id(pattern: str, selected: bool) -> None:
    from xray_core.commands.common import match_test

    assert match_test("tests/test_pick.py::test_pick[B01]", pattern) is selected


def test_diff_narrowed_to_one_parametrized_test(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    tests = ("tests/test_pick.py::test_pick[B01]", "tests/test_pick.py::test_pick[B02]")
    add_run(db, 10.0, commit=COMMIT_A, index=0, tests=tests)
    add_run(db, 20.0, commit=COMMIT_B, index=1, tests=tests)
    status, out, err = cli("diff", "--db", db, "latest~1", "latest", "--test", "test_pick[B02]")
    assert (status, err) == (1, "") and "1 trace(s) compared" in out
