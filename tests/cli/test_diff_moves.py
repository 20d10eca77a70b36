"""``xray diff`` and ``xray report`` show a list of ids that changed as entries moved, inserted
or removed (the engine of :mod:`xray_core.diff`), in text and in ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

from xray_core import Run

from .conftest import run_xray

History = tuple[Path, list[Run]]
REMOVED = "filter_and_select.output.selected: 'B02' removed (was #1)"


def test_diff_text_and_json_name_the_removed_entry(history: History) -> None:
    db, _ = history
    done = run_xray("diff", "--db", db, "latest~1", "latest")
    assert done.returncode == 1, done.stderr
    assert f"  {REMOVED}\n" in done.stdout
    as_json = run_xray("diff", "--db", db, "latest~1", "latest", "--json")
    assert as_json.returncode == 1, as_json.stderr
    [trace] = json.loads(as_json.stdout)["changed"]
    [entry] = [c for c in trace["changes"] if c["kind"] == "ListEntryChanged"]
    assert entry == {
        "kind": "ListEntryChanged", "path": "filter_and_select.output.selected[0]",
        "description": REMOVED, "edit": "removed",
        "list_path": "filter_and_select.output.selected", "value": "B02",
        "old_index": 0, "new_index": None,
    }  # fmt: skip


def test_an_ignore_on_the_index_leaves_the_entry_out(history: History) -> None:
    db, _ = history
    done = run_xray("diff", "--db", db, "latest~1", "latest", "--json",
                    "--ignore", "filter_and_select.output.selected[0]")  # fmt: skip
    [trace] = json.loads(done.stdout)["changed"]
    assert [c["kind"] for c in trace["changes"]] == ["DecisionChanged"]


def test_the_report_comparison_carries_the_same_words(history: History, tmp_path: Path) -> None:
    db, _ = history
    target = tmp_path / "report.html"
    done = run_xray("report", "--db", db, "latest~1", "latest", "-o", target)
    assert done.returncode == 0, done.stderr
    html = target.read_text(encoding="utf-8")
    assert '"kind":"ListEntryChanged"' in html.replace(" ", "")
    assert "'B02' removed (was #1)" in html
