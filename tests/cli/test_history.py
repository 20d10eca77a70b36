"""``xray history``: decisions followed across the commits of a real git repository, each run
recorded by a real ``pytest --xray-db`` session (a subprocess), flips at known commits."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from xray_core import SQLiteStore

from .realcli import one_line_error, xray

PIPELINE = '''
import xray_core as xc

MIN_PRICE = {min_price}
MIN_RATING = {min_rating}
CATALOG = {{"B0CHEAP": (11.0, 4.5), "B0MID": (20.0, 4.0), "B0TOP": (30.0, 4.9)}}


def select():
    with xc.trace("competitor-selection") as trace:
        with trace.step("filter_and_select", input={{"catalog": sorted(CATALOG)}}) as step:
            chosen = []
            for item, (price, rating) in CATALOG.items():
                filters = [
                    {{"name": "price", "passed": price >= MIN_PRICE,
                      "detail": f"{{price:.2f}} vs min {{MIN_PRICE:.2f}}"}},
                    {{"name": "rating", "passed": rating > MIN_RATING,
                      "detail": f"{{rating}} > {{MIN_RATING}}"}},
                ]
                ok = all(f["passed"] for f in filters)
                step.add_evaluation(item, item_data={{"price": price}}, filters=filters,
                                    qualified=ok)
                if ok:
                    chosen.append(item)
            step.set_output({{"selected": chosen}})
    return chosen
'''
TEST_PICK = "from pipeline import select\n\n\ndef test_pick():\n    assert 'B0MID' in select()\n"
# collected before test_pick.py: with GATE=fail and -x the session stops before test_pick runs
TEST_GATE = "import os\n\n\ndef test_gate():\n    assert os.environ.get('GATE') != 'fail'\n"
TEST_ID = "tests/test_pick.py::test_pick"
GIT = ["git", "-c", "user.email=x@example.com", "-c", "user.name=x"]


@dataclass
class Repo:
    path: Path
    commits: dict[str, str]  # label -> full SHA

    @property
    def db(self) -> Path:
        return self.path / ".xray" / "runs.db"

    def short(self, label: str) -> str:
        return self.commits[label][:8]


def _git(root: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit(root: Path, label: str, *, min_price: float, min_rating: float) -> str:
    (root / "pipeline.py").write_text(PIPELINE.format(min_price=min_price, min_rating=min_rating))
    (root / "NOTES").write_text(f"{label}\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", label)
    return _git(root, "rev-parse", "HEAD")


def _pytest(root: Path, *args: str, gate: str = "pass") -> None:
    env = {**os.environ, "GATE": gate, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("XRAY_DB", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "xray", "-p", "no:cacheprovider",
                           "-q", "--xray-db", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: test_pick fails after c5


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """c1 (min price 12) run, c2 run, c3 (min price 10: B0CHEAP flips) run, c4 interrupted run
    (test_pick not run), c5 (min rating 4.2: B0MID flips) NO run, c6 run, c7 run."""
    root = tmp_path_factory.mktemp("shop")
    (root / "tests").mkdir()
    (root / "tests" / "test_pick.py").write_text(TEST_PICK)
    (root / "tests" / "test_a_gate.py").write_text(TEST_GATE)
    (root / ".gitignore").write_text(".xray/\n__pycache__/\n")
    _git(root, "init", "-q", "-b", "main")
    commits = {}
    plan = [("c1", 12.0, 3.8, "run"), ("c2", 12.0, 3.8, "run"), ("c3", 10.0, 3.8, "run"),
            ("c4", 10.0, 3.8, "interrupted"), ("c5", 10.0, 4.2, None), ("c6", 10.0, 4.2, "run"),
            ("c7", 10.0, 4.2, "run")]  # fmt: skip
    for label, min_price, min_rating, how in plan:
        commits[label] = _commit(root, label, min_price=min_price, min_rating=min_rating)
        if how == "run":
            _pytest(root)
        elif how == "interrupted":
            _pytest(root, "-x", gate="fail")
    return Repo(root, commits)


def test_the_runs_are_real_and_one_was_interrupted(repo: Repo) -> None:
    with SQLiteStore(repo.db, strict=True, read_only=True) as store:
        runs = list(reversed(store.list_runs()))
    assert [r.git_commit for r in runs] == [repo.commits[c] for c in
                                            ("c1", "c2", "c3", "c4", "c6", "c7")]  # fmt: skip
    assert [r.status for r in runs] == ["completed"] * 3 + ["interrupted"] + ["completed"] * 2
    assert all(r.git_branch == "main" and r.git_dirty is False for r in runs)


def test_a_flip_at_a_known_commit_names_that_commit(repo: Repo) -> None:
    done = xray("history", TEST_ID, "--item", "B0CHEAP", cwd=repo.path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    c3 = repo.short("c3")
    assert (f"B0CHEAP: qualified since {c3} (" in out
            and "— rejected by price in the 2 run(s) before" in out), out  # fmt: skip
    assert f"the change came with commit {c3}, the one right after {repo.short('c2')}" in out
    assert "git bisect" not in out  # no commit without a run in between: nothing to narrow
    rows = [line for line in out.splitlines() if re.match(r"\s*[0-9a-f]{8} main\s+\d{4}-", line)]
    assert len(rows) == 6  # every run, oldest first
    assert [repo.short(c) in row for c, row in zip(("c1", "c2", "c3", "c4", "c6", "c7"), rows,
                                                     strict=True)] == [True] * 6  # fmt: skip
    assert "rejected by price" in rows[0] and "11.00 vs min 12.00" in rows[0]
    assert "qualified" in rows[2] and "◀ changed" in rows[2]
    assert "filter_and_select.output.selected: 'B0CHEAP' inserted at #1" in out
    assert "interrupted" in rows[3] and "not run" in rows[3] and "changed" not in rows[3]
    assert [("changed" in row) for row in rows] == [False, False, True, False, False, False]


def test_a_gap_names_both_commits_and_prints_the_bisect_lines(repo: Repo, tmp_path: Path) -> None:
    done = xray("history", TEST_ID, "--item", "B0MID", cwd=repo.path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    c3, c6 = repo.commits["c3"], repo.commits["c6"]
    assert f"B0MID: rejected by rating since {c6[:8]} (" in out
    assert "— qualified in the 3 run(s) before" in out
    assert f"the change happened between {c3[:8]} (" in out and f"and {c6[:8]} (" in out
    assert "2 commit(s) in between without a run of the test" in out
    start, bisect_run = f"git bisect start {c6} {c3}", f"git bisect run pytest {TEST_ID}"
    assert f"  {start}\n" in out and f"  {bisect_run}\n" in out
    assert "rejected by rating" in out and "4.0 > 4.2" in out  # the deciding filter's detail
    # Printed, not run: the repository is untouched. Run in a clone, the lines find c5.
    assert _git(repo.path, "rev-parse", "HEAD") == repo.commits["c7"]
    assert not (repo.path / ".git" / "BISECT_LOG").exists()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    _git(clone, *start.split()[1:])
    pytest_cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:xray"]
    done = subprocess.run([*GIT, "bisect", "run", *pytest_cmd, TEST_ID], cwd=clone,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert f"{repo.commits['c5']} is the first bad commit" in done.stdout, done.stdout


def test_without_a_git_repository_the_two_commits_are_named(repo: Repo, tmp_path: Path) -> None:
    done = xray("history", TEST_ID, "--item", "B0CHEAP", "--db", repo.db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "commits in between unknown here (not in this git repository)" in done.stdout
    assert f"git bisect start {repo.commits['c3']} {repo.commits['c2']}" in done.stdout


def test_without_item_every_changed_decision_most_recent_first(repo: Repo) -> None:
    done = xray("history", "test_pick", cwd=repo.path)
    assert done.returncode == 0, done.stderr
    summaries = [line for line in done.stdout.splitlines() if line.startswith("B0")]
    assert summaries == [
        f"B0MID: rejected by rating since {repo.short('c6')} ({_day(repo, 'c6')}) — qualified "
        "in the 3 run(s) before",
        f"B0CHEAP: qualified since {repo.short('c3')} ({_day(repo, 'c3')}) — rejected by price "
        "in the 2 run(s) before",
    ]
    assert "2 of 3 decision(s) changed over 6 run(s), most recent change first" in done.stdout
    assert f"xray history {TEST_ID} --item B0MID" in done.stdout


def _day(repo: Repo, label: str) -> str:
    with SQLiteStore(repo.db, strict=True, read_only=True) as store:
        [run] = [r for r in store.list_runs() if r.git_commit == repo.commits[label]]
    return run.started_at.strftime("%Y-%m-%d")


def test_last_narrows_the_window(repo: Repo) -> None:
    done = xray("history", TEST_ID, "--item", "B0CHEAP", "--last", "2", cwd=repo.path)
    assert done.returncode == 0, done.stderr
    assert ("B0CHEAP: qualified in all 2 run(s) shown (--last N looks further back)"
            in done.stdout)  # fmt: skip
    done = xray("history", TEST_ID, "--item", "B0MID", "--last", "3", cwd=repo.path)
    assert done.stdout.count("◀ changed") == 0  # c4's run did not run it; c3 is out of the window
    done = xray("history", TEST_ID, "--item", "B0MID", "--last", "4", cwd=repo.path)
    assert "back to the oldest run shown (--last N looks further back)" in done.stdout


def test_json_shape(repo: Repo) -> None:
    done = xray("history", TEST_ID, "--item", "B0MID", "--json", cwd=repo.path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"test", "item", "runs", "decisions_followed", "histories"}
    assert [r["git_commit"] for r in data["runs"]] == [
        repo.commits[c] for c in ("c1", "c2", "c3", "c4", "c6", "c7")
    ]
    [history] = data["histories"]
    assert (history["test_id"], history["trace"], history["step"], history["item_id"]) == (
        TEST_ID, "competitor-selection", "filter_and_select", "B0MID")
    assert history["changes"] == 1
    assert history["current"]["verdict"] == "rejected by rating"
    assert history["current"]["first_commit"] == repo.commits["c6"]
    assert history["previous"]["runs"] == 3 and history["previous"]["verdict"] == "qualified"
    assert history["change"]["good_commit"] == repo.commits["c3"]
    assert history["change"]["bad_commit"] == repo.commits["c6"]
    assert history["change"]["commits_between"] == 3
    assert history["change"]["bisect"] == [
        f"git bisect start {repo.commits['c6']} {repo.commits['c3']}",
        f"git bisect run pytest {TEST_ID}",
    ]
    states = [(o["run_status"], o["state"], o["verdict"], o["changed"])
              for o in history["observations"]]  # fmt: skip
    assert states == [
        ("completed", "decided", "qualified", False),
        ("completed", "decided", "qualified", False),
        ("completed", "decided", "qualified", False),
        ("interrupted", "not run", "not run", False),
        ("completed", "decided", "rejected by rating", True),
        ("completed", "decided", "rejected by rating", False),
    ]
    assert history["observations"][4]["detail"] == "rating: 4.0 > 4.2"
    # where the item stands in the output lists, compared with the diff's alignment
    assert history["observations"][4]["moves"] == [
        "filter_and_select.output.selected: 'B0MID' removed (was #2)"]
    assert [o["moves"] for o in history["observations"][:4]] == [[]] * 4
    assert history["observations"][4]["qualified"] is False
    changed = json.loads(xray("history", "test_pick", "--json", cwd=repo.path).stdout)
    assert changed["item"] is None and changed["decisions_followed"] == 3
    assert [h["item_id"] for h in changed["histories"]] == ["B0MID", "B0CHEAP"]


def test_unknown_test_item_step_or_trace_is_one_line_exit_2(repo: Repo) -> None:
    one_line_error(xray("history", "test_nothing", cwd=repo.path),
                   "no test matching 'test_nothing'", TEST_ID)  # fmt: skip
    one_line_error(xray("history", TEST_ID, "--item", "B0NONE", cwd=repo.path),
                   "item 'B0NONE' was not evaluated", "items: B0CHEAP, B0MID, B0TOP")  # fmt: skip
    one_line_error(xray("history", TEST_ID, "--step", "rank", cwd=repo.path),
                   "no step 'rank'", "filter_and_select")  # fmt: skip
    one_line_error(xray("history", TEST_ID, "--trace", "other", cwd=repo.path),
                   "no trace named 'other'", "competitor-selection")  # fmt: skip
    one_line_error(xray("history", TEST_ID, "--db", repo.path / "missing.db", cwd=repo.path),
                   "no such database file")  # fmt: skip


def test_reading_the_history_changes_nothing(repo: Repo) -> None:
    before = {p.name: p.read_bytes() for p in repo.db.parent.iterdir()}
    xray("history", "test_pick", cwd=repo.path)
    xray("history", TEST_ID, "--item", "B0MID", "--json", cwd=repo.path)
    assert {p.name: p.read_bytes() for p in repo.db.parent.iterdir()} == before
    assert shutil.which("git")
