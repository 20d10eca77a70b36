"""The ``xray`` command (a subprocess) on run histories recorded by real ``pytest --xray-db`` runs.

A small instrumented project lives in a temporary git repository. It is tested three times: at
commit 1 (minimum price 10), again at commit 1, then at commit 2 where the minimum price is 20,
so candidate B02 flips from qualified to rejected by the price filter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_xray

PIPELINE = '''
import xray_core as xray

MIN_PRICE = {min_price}
CATALOG = {{"B01": (9.5, 4.5), "B02": (15.0, 4.1), "B03": (22.0, 3.2), "B04": (31.0, 4.8)}}


def pick(title):
    with xray.trace("competitor-selection", metadata={{"title": title}}):
        with xray.step("keyword_generation", input={{"title": title}}) as step:
            keywords = title.split()
            step.set_output({{"keywords": keywords}})
            step.add_llm_metadata(model="mock-llm", tokens_used=7, temperature=0.0)
        with xray.step("filter_and_select") as step:
            chosen = []
            for item, (price, rating) in CATALOG.items():
                filters = [
                    {{"name": "price", "passed": price >= MIN_PRICE,
                     "detail": f"{{price:.2f}} vs min {{MIN_PRICE:.2f}}"}},
                    {{"name": "rating", "passed": rating > 3.8, "detail": f"{{rating}} > 3.8"}},
                ]
                ok = all(f["passed"] for f in filters)
                step.add_evaluation(item_id=item, item_data={{"price": price}}, filters=filters,
                                    qualified=ok, reasoning="meets every filter" if ok else "no")
                if ok:
                    chosen.append(item)
            step.set_output({{"selected": chosen}})
        return chosen
'''
TESTS = '''
from pick import pick


def test_pick():
    assert "B04" in pick("steel bottle")


def test_pick_twice():
    pick("steel bottle")
    pick("glass bottle")
'''


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip()


def _commit(repo: Path, min_price: float, message: str) -> str:
    (repo / "pick.py").write_text(PIPELINE.format(min_price=min_price))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _pytest(repo: Path) -> None:
    env = {k: v for k, v in os.environ.items()  # the suite's PYTEST_ADDOPTS kept
           if not k.startswith(("PYTEST_", "XRAY_")) or k == "PYTEST_ADDOPTS"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "xray", "-p", "no:cacheprovider",
         "--xray-db=.xray/runs.db", "tests"],
        cwd=repo, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The repository after three recorded pytest runs, with its two commits."""
    repo = tmp_path_factory.mktemp("project")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_pick.py").write_text(TESTS)
    (repo / "conftest.py").write_text("")
    (repo / ".gitignore").write_text(".xray/\n__pycache__/\n")
    first = _commit(repo, 10.0, "min price 10")
    _pytest(repo)
    _pytest(repo)
    second = _commit(repo, 20.0, "min price 20")
    _pytest(repo)
    return {"repo": repo, "commits": [first, second], "db": repo / ".xray" / "runs.db"}


def _json(*args: Any, cwd: Path) -> Any:
    done = run_xray(*args, "--json", cwd=cwd)
    assert done.returncode in (0, 1) and done.stderr == "", done.stderr
    return json.loads(done.stdout)


def test_runs_recorded_with_their_commits(project: dict[str, Any]) -> None:
    runs = _json("runs", cwd=project["repo"] / "tests")  # the DB is found upwards
    first, second = project["commits"]
    assert [r["git_commit"] for r in runs] == [second, first, first]
    assert {r["git_branch"] for r in runs} == {"main"} and not any(r["git_dirty"] for r in runs)
    assert all(r["counts"]["tests"] == 2 and r["counts"]["traces"] == 3 for r in runs)
    table = run_xray("runs", cwd=project["repo"]).stdout
    assert f"{second[:8]} main" in table and "3 run(s), most recent first" in table


def test_diff_across_commits_flips_b02(project: dict[str, Any]) -> None:
    done = run_xray("diff", "latest~1", "latest", cwd=project["repo"])
    assert done.returncode == 1, done.stderr
    assert "tests/test_pick.py::test_pick :: competitor-selection" in done.stdout
    assert "B02: qualified -> rejected by price (price: 15.00 vs min 10.00 (passed) -> " \
           "15.00 vs min 20.00 (failed))" in done.stdout  # fmt: skip
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("decisions differ: 3 trace(s) compared, 3 changed, 3 decision")

    first, second = project["commits"]
    data = _json("diff", first[:7], "HEAD", cwd=project["repo"])  # a commit, a git revision
    assert data["differs"] is True and data["b"]["git_commit"] == second
    flipped = {(c["test_id"], c["occurrence"]) for c in data["changed"]
               for ch in c["changes"] if ch["kind"] == "DecisionChanged" and ch["flipped"]}
    assert flipped == {("tests/test_pick.py::test_pick", 0),
                       ("tests/test_pick.py::test_pick_twice", 0),
                       ("tests/test_pick.py::test_pick_twice", 1)}  # fmt: skip


def test_diff_same_commit_is_clean(project: dict[str, Any]) -> None:
    done = run_xray("diff", "latest~2", "latest~1", cwd=project["repo"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith(
        "no differences: 3 trace(s) compared, 0 changed")  # fmt: skip
    narrowed = run_xray("diff", "latest~1", "latest", "--test", "*::test_pick", cwd=project["repo"])
    assert narrowed.returncode == 1 and "1 trace(s) compared" in narrowed.stdout


def test_show_stability_and_report(project: dict[str, Any], tmp_path: Path) -> None:
    repo = project["repo"]
    diff = _json("diff", "latest~1", "latest", "--test", "*::test_pick", cwd=repo)
    (changed,) = diff["changed"]
    shown = run_xray("show", "--db", project["db"], changed["trace_id_b"][:8], cwd=tmp_path)
    assert shown.returncode == 0 and "4 evaluated, 3 rejected" in shown.stdout
    assert "✗ price (15.00 vs min 20.00)" in shown.stdout
    stability = _json("stability", cwd=repo)
    b02 = [d for d in stability["decisions"] if d["item_id"] == "B02"]
    # test_pick: B02 qualified, qualified, rejected -> 1 flip; test_pick_twice has two traces
    # per run, on two inputs: each input is compared with itself, 3 verdicts and 1 flip each.
    assert sorted((d["test_id"].split("::")[1], d["group"], d["observations"], d["flips"])
                  for d in b02) == [
        ("test_pick", "", 3, 1),
        ("test_pick_twice", '{"title":"glass bottle"}', 3, 1),
        ("test_pick_twice", '{"title":"steel bottle"}', 3, 1),
    ]  # fmt: skip
    assert stability["groups"] == {"count": 3, "min_traces": 3, "max_traces": 3}
    pooled = _json("stability", "--pool", cwd=repo)
    assert {(d["test_id"].split("::")[1], d["observations"], d["flips"])
            for d in pooled["decisions"] if d["item_id"] == "B02"} == {
        ("test_pick", 3, 1), ("test_pick_twice", 6, 1)}  # fmt: skip
    report = tmp_path / "report.html"
    done = run_xray("report", "latest~1", "latest", "-o", report, cwd=repo)
    assert done.returncode == 0, done.stderr
    html = report.read_text(encoding="utf-8")
    assert "tests/test_pick.py::test_pick_twice" in html
    assert "competitor-selection [input " in html  # the report's stability names the group


def test_export_import_round_trip(project: dict[str, Any], tmp_path: Path) -> None:
    repo = project["repo"]
    export = tmp_path / "history.jsonl"
    done = run_xray("export", "latest~2", "latest~1", "latest", "-o", export, cwd=repo)
    assert done.returncode == 0 and "exported 3 run(s)" in done.stdout, done.stderr
    copy = tmp_path / "copy.db"
    first = _json("import", "--db", copy, export, cwd=tmp_path)
    again = _json("import", "--db", copy, export, cwd=tmp_path)
    assert len(first["files"][0]["added"]) == 3 and again["files"][0]["added"] == []
    assert _json("runs", "--db", copy, cwd=tmp_path) == _json("runs", cwd=repo)
    original = _json("diff", "latest~1", "latest", cwd=repo)
    imported = _json("diff", "--db", copy, "latest~1", "latest", cwd=tmp_path)
    assert imported == original
