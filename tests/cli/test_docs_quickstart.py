"""docs/quickstart.md works as written: its script runs, prints what the page says, and every
``xray`` command of the page (and every one the script and the demo print) works verbatim."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .realcli import xray

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")


def _section(number: int) -> str:
    start = PAGE.index(f"\n## {number}. ")
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start : end if end != -1 else None]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)


def _xray_commands(text: str) -> list[list[str]]:
    """The ``xray ...`` lines of the bash blocks of ``text`` (comments dropped)."""
    lines = [line.split("#")[0].strip() for block in _blocks(text, "bash")
             for line in block.splitlines()]  # fmt: skip
    return [shlex.split(line)[1:] for line in lines if line.startswith("xray ")]


def _printed_command(output: str) -> list[str]:
    """The ``xray ...`` command a program printed (after "see it with:" or similar)."""
    (line,) = [line for line in output.splitlines() if "xray show" in line]
    return shlex.split(line[line.index("xray show") :].rstrip("."))[1:]


def test_the_first_trace_script_and_its_commands(tmp_path: Path) -> None:
    (script,) = _blocks(_section(2), "python")
    (tmp_path / "first_trace.py").write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, "first_trace.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    promised = [line[2:] for line in script.splitlines() if line.startswith("# ")]
    assert promised and all(line in done.stdout for line in promised)

    commands = _xray_commands(_section(2))
    assert commands == [["traces", "--db", ".xray/first.db"]]
    listing = xray(*commands[0], cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    trace_id = _printed_command(done.stdout)[1]
    assert f" {trace_id}  " in listing.stdout and listing.stdout.count("—") == 1
    for printed in (done.stdout, listing.stdout):  # the script's hint and the listing's
        shown = xray(*_printed_command(printed), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "competitor-selection" in shown.stdout and "B0X" in shown.stdout


def test_the_demo_commands(tmp_path: Path) -> None:
    section = _section(3)
    runs = [shlex.split(line.split("#")[0]) for block in _blocks(section, "bash")
            for line in block.splitlines() if line.startswith("python -m demo")]  # fmt: skip
    assert runs[0] == ["python", "-m", "demo"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}  # run from the repository
    done = subprocess.run([sys.executable, *runs[0][1:]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "`xray traces` lists those traces" in section
    listing = xray("traces", cwd=tmp_path)  # the demo's .xray/runs.db, found from here
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith("4 trace(s), most recent first")
    assert listing.stdout.count("—") == 4  # recorded outside pytest
    shown = xray(*_printed_command(listing.stdout), cwd=tmp_path)
    assert shown.returncode == 0 and "filter" in shown.stdout, shown.stderr
