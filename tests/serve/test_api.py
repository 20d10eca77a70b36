"""The JSON API of the real ``xray serve`` process, over HTTP: answers, pagination, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from xray_core import Run, SQLiteStore

from .conftest import Served
from .histories import FLIP_AT, HOSTILE, TEST_PICK, TEST_REPEAT

History = tuple[Path, list[Run]]


def cli_json(db: Path, *args: str) -> Any:
    """What the real ``xray ... --json`` prints."""
    done = subprocess.run([sys.executable, "-m", "xray_core.cli", *args, "--db", str(db),
                           "--json"], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def error_of(response: Any, status: int, *needles: str) -> str:
    """Assert a JSON error of ``status`` naming every needle; return its message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    assert isinstance(message, str) and "Traceback" not in message and "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def all_pages(server: Served, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry of a listing, page by page through its cursors."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = server.json(path, {**params, **({"cursor": cursor} if cursor else {})})
        assert len(page[key]) <= params.get("limit", 50)
        found += page[key]
        cursor = page["next"]
        if cursor is None:
            return found
    raise AssertionError("the cursors never end")


# -- runs -------------------------------------------------------------------------------------
def test_runs_are_listed_newest_first_with_status_commit_and_trace_count(
    server: Served, history_db: History
) -> None:
    _, runs = history_db
    listed = server.json("/api/runs")
    assert [r["run_id"] for r in listed["runs"]] == [r.run_id for r in reversed(runs)]
    assert listed["next"] is None
    newest = listed["runs"][0]
    assert newest["git_commit"] == runs[-1].git_commit and newest["git_branch"] == "main"
    assert newest["status"] == newest["shown_status"] == "completed"
    assert newest["traces"] == 5 and listed["runs"][1]["traces"] == 4
    assert newest["counts"]["tests"] == 3


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
def test_run_pages_follow_each_other_without_repeat_or_gap(
    server: Served, history_db: History, limit: int
) -> None:
    _, runs = history_db
    listed = all_pages(server, "/api/runs", "runs", limit=limit)
    assert [r["run_id"] for r in listed] == [r.run_id for r in reversed(runs)]


def test_runs_can_be_filtered_by_status(server: Served) -> None:
    assert len(server.json("/api/runs", {"status": "completed"})["runs"]) == 6
    assert server.json("/api/runs", {"status": "interrupted"}) == {"runs": [], "next": None}
    error_of(server.get("/api/runs", {"status": "done"}), 400, "status", "'done'")


def test_a_run_is_found_by_any_reference_with_its_tests_and_counts(
    server: Served, history_db: History
) -> None:
    _, runs = history_db
    by_id = server.json(f"/api/runs/{runs[2].run_id}")
    assert by_id["run_id"] == runs[2].run_id and by_id["status"] == "completed"
    assert by_id["traces"] == 4 and by_id["trace_statuses"] == {"completed": 4}
    assert [t["test_id"] for t in by_id["tests"]] == [TEST_PICK, TEST_REPEAT]
    assert by_id["tests"][0]["outcome"] == "passed"
    assert server.json("/api/runs/latest")["run_id"] == runs[-1].run_id
    assert server.json("/api/runs/latest~2")["run_id"] == runs[-3].run_id
    assert server.json(f"/api/runs/{runs[1].run_id[:10]}")["run_id"] == runs[1].run_id
    assert server.json(f"/api/runs/{runs[4].git_commit}")["run_id"] == runs[4].run_id


def test_an_unknown_run_is_a_404_that_lists_recent_runs(server: Served, history_db: History) -> None:
    _, runs = history_db
    error_of(server.get("/api/runs/nosuchrun"), 404, "no run matches 'nosuchrun'",
             runs[-1].run_id[:8])  # fmt: skip
    error_of(server.get("/api/runs/latest~6"), 404, "only 6 run(s) recorded")


# -- traces -----------------------------------------------------------------------------------
def test_trace_pages_list_every_trace_once_oldest_first(
    server: Served, history_db: History
) -> None:
    db, _ = history_db
    with SQLiteStore(db, read_only=True, strict=True) as store:
        stored = store.list_traces(None)
    expected = sorted((t.start_time, t.trace_id) for t in stored)
    for limit in (1, 3, 7, 500):
        listed = all_pages(server, "/api/traces", "traces", limit=limit)
        assert [t["trace_id"] for t in listed] == [i for _, i in expected]
    first = server.json("/api/traces", {"limit": 1})["traces"][0]
    assert set(first) == {"trace_id", "name", "status", "start_time", "end_time", "duration_ms",
                          "run_id", "test_id", "steps"}  # fmt: skip
    assert first["steps"] == 2 and first["test_id"] == TEST_PICK


def test_traces_are_filtered_by_run_test_name_status_and_text(
    server: Served, history_db: History
) -> None:
    _, runs = history_db
    of_run = server.json("/api/traces", {"run": runs[1].run_id})["traces"]
    assert len(of_run) == 4 and {t["run_id"] for t in of_run} == {runs[1].run_id}
    assert len(server.json("/api/traces", {"run": "latest"})["traces"]) == 5
    repeat = server.json("/api/traces", {"test": "test_repeat"})["traces"]
    assert len(repeat) == 18 and {t["test_id"] for t in repeat} == {TEST_REPEAT}
    glob = server.json("/api/traces", {"test": "tests/*::test_p*", "run": runs[0].run_id})
    assert [t["test_id"] for t in glob["traces"]] == [TEST_PICK]
    assert len(server.json("/api/traces", {"name": HOSTILE})["traces"]) == 1
    assert len(server.json("/api/traces", {"status": "completed", "limit": 500})["traces"]) == 25
    assert server.json("/api/traces", {"status": "failed"})["traces"] == []
    assert len(server.json("/api/traces", {"q": "ONERROR"})["traces"]) == 1  # any case
    assert server.json("/api/traces", {"q": "%"})["traces"] == []  # wildcards are literal
    assert server.json("/api/traces", {"test": "no-such-test"}) == {"traces": [], "next": None}


def test_bad_trace_parameters_are_400s_naming_them(server: Served) -> None:
    error_of(server.get("/api/traces", {"limit": "0"}), 400, "limit", "greater than or equal")
    error_of(server.get("/api/traces", {"limit": "501"}), 400, "limit")
    error_of(server.get("/api/traces", {"limit": "ten"}), 400, "limit", "'ten'")
    error_of(server.get("/api/traces", {"status": "ok"}), 400, "status", "'ok'")
    error_of(server.get("/api/traces", {"cursor": "not-a-cursor"}), 400, "cursor",
             "'not-a-cursor'", "`next` value")  # fmt: skip
    error_of(server.get("/api/traces", {"q": "x" * 1001}), 400, "q")
    error_of(server.get("/api/traces", {"run": "nope"}), 404, "no run matches 'nope'")


def test_a_trace_is_served_whole(server: Served, history_db: History) -> None:
    db, runs = history_db
    first = server.json("/api/traces", {"run": runs[0].run_id, "limit": 1})["traces"][0]
    trace = server.json(f"/api/traces/{first['trace_id']}")
    with SQLiteStore(db, read_only=True, strict=True) as store:
        stored = store.get_trace(first["trace_id"])
    assert stored is not None and trace == json.loads(stored.model_dump_json())
    assert server.json(f"/api/traces/{first['trace_id'][:12]}")["trace_id"] == first["trace_id"]
    error_of(server.get("/api/traces/nosuchtrace"), 404, "no trace 'nosuchtrace'")


# -- diff, stability, history, report data ------------------------------------------------------
def test_the_diff_is_xray_diff_json(server: Served, history_db: History) -> None:
    db, runs = history_db
    for a, b in (("latest~3", "latest~2"), (runs[0].run_id, runs[1].run_id)):
        served = server.json("/api/diff", {"a": a, "b": b})
        assert served.pop("skipped") == []
        assert served == cli_json(db, "diff", a, b)
    flip = server.json("/api/diff", {"a": "latest~3", "b": "latest~2", "test": "::test_pick"})
    (changed,) = flip["changed"]
    decision = next(c for c in changed["changes"] if c["kind"] == "DecisionChanged")
    assert decision["item_id"] == "B02" and decision["flipped"] and flip["differs"]
    ignored = server.json("/api/diff", {"a": "latest~3", "b": "latest~2", "test": "::test_pick",
                                        "ignore": ["*.output.*", "*B02*"]})  # fmt: skip
    assert ignored["changed"] == [] and not ignored["differs"]


def test_bad_diff_parameters_are_400_or_404(server: Served) -> None:
    error_of(server.get("/api/diff", {"a": "latest"}), 400, "b", "Field required")
    error_of(server.get("/api/diff", {"a": "latest", "b": "nope"}), 404, "'nope'")
    error_of(server.get("/api/diff", {"a": "latest~9", "b": "latest"}), 400,
             "only 6 completed run(s)")  # fmt: skip
    error_of(server.get("/api/diff", {"a": "latest~1", "b": "latest", "tolerance": "-1"}), 400,
             "tolerance")  # fmt: skip
    error_of(server.get("/api/diff", {"a": "latest~1", "b": "latest", "tolerance": "inf"}), 400,
             "tolerance")  # fmt: skip
    error_of(server.get("/api/diff", {"a": "latest~1", "b": "latest", "test": "nope"}), 404,
             "no trace of the compared runs")  # fmt: skip


def test_stability_is_xray_stability_json(server: Served, history_db: History) -> None:
    db, runs = history_db
    for last in (3, 4):
        served = server.json("/api/stability", {"last": last})
        cli = cli_json(db, "stability", "--last", str(last), "--all")
        assert served["decisions"] == cli["decisions"]
        assert [r["run_id"] for r in served["runs"]] == cli["runs"]
        assert cli["runs"] == [r.run_id for r in runs[-last:]]
    unstable = [d for d in served["decisions"] if not d["stable"]]  # B02 flipped 4 runs ago
    assert {(d["test_id"], d["item_id"]) for d in unstable} == {
        (TEST_REPEAT, "B03"), (TEST_PICK, "B02"), (TEST_REPEAT, "B02")}
    assert served["unstable"] == 3 and served["traces"] == 4 * 4 + 1
    recent = server.json("/api/stability", {"last": 3})  # all after the flip
    assert [(d["test_id"], d["item_id"]) for d in recent["decisions"] if not d["stable"]] == [
        (TEST_REPEAT, "B03")]
    assert server.json("/api/stability", {"test": "::test_pick"})["unstable"] == 1  # B02
    assert server.json("/api/stability", {"test": "::test_pick", "last": 3})["unstable"] == 0
    error_of(server.get("/api/stability", {"last": "0"}), 400, "last")
    error_of(server.get("/api/stability", {"last": "101"}), 400, "last")


def test_history_shows_the_flip_at_its_commit(server: Served, history_db: History) -> None:
    _, runs = history_db
    history = server.json("/api/history", {"test": TEST_PICK, "item": "B02"})
    assert [e["run"]["run_id"] for e in history["runs"]] == [r.run_id for r in runs]
    verdicts = [e["verdict"] for e in history["runs"]]
    assert verdicts == ["qualified"] * FLIP_AT + ["rejected by price"] * (6 - FLIP_AT)
    assert [e["changed"] for e in history["runs"]] == [i == FLIP_AT for i in range(6)]
    [decision] = history["runs"][FLIP_AT]["decisions"]
    assert decision["failed"] == [{"name": "price", "passed": False,
                                   "detail": "15.00 vs min 20.00"}]  # fmt: skip
    assert decision["step"] == "filter_and_select" and decision["test_id"] == TEST_PICK
    [trace_id] = decision["traces"]
    trace = server.json(f"/api/traces/{trace_id}")
    assert trace["run_id"] == runs[FLIP_AT].run_id
    # the deciding step of the decision's first trace: the page's link
    assert [s["name"] for s in trace["steps"] if s["step_id"] == decision["step_id"]] == [
        "filter_and_select"]  # fmt: skip
    current = history["current"]
    assert current["verdict"] == "rejected by price" and current["before"] == "qualified"
    assert current["since"]["git_commit"] == runs[FLIP_AT].git_commit
    assert current["runs"] == 6 - FLIP_AT and current["runs_before"] == FLIP_AT
    window = server.json("/api/history", {"test": TEST_PICK, "item": "B02", "last": 2})
    assert len(window["runs"]) == 2 and window["current"]["before"] is None


def test_history_of_a_flaky_item_says_mixed(server: Served) -> None:
    history = server.json("/api/history", {"test": TEST_REPEAT, "item": "B03"})
    assert {e["verdict"] for e in history["runs"]} == {"mixed: qualified; rejected by rating"}
    # the three traces of a run: two decisions, one of them held by two traces
    for entry in history["runs"]:
        assert sorted(len(d["traces"]) for d in entry["decisions"]) == [1, 2]
        assert {d["verdict"] for d in entry["decisions"]} == {"qualified", "rejected by rating"}


def test_history_of_unknown_tests_items_and_steps_is_a_404(server: Served) -> None:
    error_of(server.get("/api/history", {"test": "nope", "item": "B02"}), 404, "test 'nope'")
    error_of(server.get("/api/history", {"test": TEST_PICK, "item": "B99"}), 404,
             "item 'B99' was not evaluated")  # fmt: skip
    error_of(server.get("/api/history", {"test": TEST_PICK, "item": "B02", "step": "rank"}), 404,
             "in step 'rank'")  # fmt: skip
    error_of(server.get("/api/history", {"item": "B02"}), 400, "test", "Field required")
    error_of(server.get("/api/history", {"test": TEST_PICK, "item": "B02", "last": "x"}), 400,
             "last")  # fmt: skip


def test_report_data_is_the_reports_document(server: Served, history_db: History) -> None:
    _, runs = history_db
    data = server.json("/api/report", {"run": runs[0].run_id})
    assert data["run"]["run_id"] == runs[0].run_id and data["comparison"] is None
    assert len(data["traces"]) == 4 and [t["id"] for t in data["tests"]] == [TEST_PICK,
                                                                              TEST_REPEAT]  # fmt: skip
    compared = server.json("/api/report", {"run": "latest~2", "base": "latest~3"})
    assert compared["baseline_run"]["run_id"] == runs[FLIP_AT - 1].run_id
    assert compared["run"]["run_id"] == runs[FLIP_AT].run_id
    items = [c["item"] for d in compared["comparison"]["changed"] for c in d["changes"]
             if c["kind"] == "DecisionChanged"]  # fmt: skip
    assert "B02" in items
    error_of(server.get("/api/report", {"run": "nope"}), 404, "'nope'")


# -- the HTTP surface ---------------------------------------------------------------------------
def test_unknown_paths_and_other_methods_are_json_errors(server: Served) -> None:
    error_of(server.get("/api/nothing"), 404, "Not Found")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = server.client.request(method, server.url + "api/runs")
        error_of(response, 405, "Method Not Allowed")


def test_only_requests_naming_this_machine_are_answered(server: Served) -> None:
    response = server.get("/api/runs", headers={"Host": "attacker.example"})
    assert response.status_code == 400 and "Invalid host header" in response.text
    assert server.get("/api/runs", headers={"Host": "localhost"}).status_code == 200


def test_the_openapi_document_and_its_docs_page_are_served(server: Served) -> None:
    spec = server.json("/openapi.json")
    paths = set(spec["paths"])
    assert {"/api/runs", "/api/runs/{ref}", "/api/traces", "/api/traces/{trace_id}",
            "/api/diff", "/api/history", "/api/stability", "/api/report"} <= paths  # fmt: skip
    parameters = {p["name"] for p in spec["paths"]["/api/traces"]["get"]["parameters"]}
    assert parameters == {"run", "test", "name", "status", "q", "limit", "cursor"}
    assert "400" in spec["paths"]["/api/traces"]["get"]["responses"]
    docs = server.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_pages_are_served_with_a_policy_allowing_this_server_only(server: Served) -> None:
    for path in ("/", "/runs/latest", "/compare?a=latest~1&b=latest"):
        page = server.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("test", "item"), [(TEST_PICK, "B02"), (TEST_REPEAT, "B03"),
                                            (TEST_REPEAT, "B01")])  # fmt: skip
def test_xray_history_says_what_the_served_history_says(
    server: Served, history_db: History, test: str, item: str
) -> None:
    """The CLI reads its traces as the server does: run by run, the same verdicts (worded as
    each words a mix), the same changes and the same run since which the verdict holds."""
    db, runs = history_db
    served = server.json("/api/history", {"test": test, "item": item})
    [cli] = cli_json(db, "history", test, "--item", item)["histories"]
    observed = [o for o in cli["observations"] if o["state"] != "not run"]
    assert [o["run_id"] for o in observed] == [e["run"]["run_id"] for e in served["runs"]]
    for obs, entry in zip(observed, served["runs"], strict=True):
        assert obs["changed"] == entry["changed"]
        if obs["verdict"].startswith("mixed"):  # "mixed (qualified x2, ...)" / "mixed: a; b"
            assert entry["verdict"] == "mixed: " + "; ".join(
                sorted(part.rsplit(" x", 1)[0] for part in obs["verdict"][7:-1].split(", ")))
            continue
        assert obs["verdict"] == entry["verdict"]
        # the CLI's detail is its last trace's: one of the run's decisions (a detail may vary)
        details = [sorted(f"{f['name']}: {f['detail']}" for f in
                          (d["passed"] + d["failed"] if d["qualified"] else d["failed"]))
                   for d in entry["decisions"]]  # fmt: skip
        assert sorted(obs["detail"].split("; ")) in details
    assert cli["current"]["first_run_id"] == served["current"]["since"]["run_id"]
    assert cli["current"]["verdict"] == served["current"]["verdict"] or (
        cli["current"]["verdict"].startswith("mixed"))
