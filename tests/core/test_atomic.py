"""``xray_core.atomic``: a failure while writing leaves the previous file byte-identical."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xray_core.atomic import atomic_writer, write_bytes_atomic, write_text_atomic


class BreaksHalfWay:
    """A value json cannot serialize: json.dump fails after writing everything before it."""


def _fail(value: object) -> object:
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dump_breaking(path: Path, items: list[str], break_at: int) -> None:
    """json.dump ``items`` to ``path`` (atomically), failing at item ``break_at``."""
    data = [*items[:break_at], BreaksHalfWay(), *items[break_at:]]
    with atomic_writer(path) as out:
        json.dump(data, out, default=_fail)


def test_a_failure_mid_stream_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    target.write_bytes(b'["the reviewed content"]\n')
    reached: list[int] = []
    with (
        pytest.raises(TypeError, match="cannot serialize BreaksHalfWay"),
        atomic_writer(target) as out,
    ):
        json.dump([f"item {i}" * 20 for i in range(2500)], out)
        out.flush()
        [temporary] = [p for p in tmp_path.iterdir() if p != target]
        reached.append(temporary.stat().st_size)  # half the data is on disk already
        json.dump([BreaksHalfWay()], out, default=_fail)
    assert reached[0] > 100_000
    assert target.read_bytes() == b'["the reviewed content"]\n'
    assert list(tmp_path.iterdir()) == [target]


@settings(max_examples=40, deadline=None)
@given(
    old=st.text(max_size=200),
    items=st.lists(st.text(max_size=30), max_size=60),
    break_at=st.integers(min_value=0, max_value=60),
)
def test_failure_anywhere_keeps_the_old_bytes_success_writes_the_new(
    tmp_path_factory: pytest.TempPathFactory, old: str, items: list[str], break_at: int
) -> None:
    folder = tmp_path_factory.mktemp("atomic")
    target = folder / "file.json"
    old_bytes = old.encode("utf-8", "surrogatepass")
    target.write_bytes(old_bytes)
    with pytest.raises(TypeError):
        dump_breaking(target, items, min(break_at, len(items)))
    assert target.read_bytes() == old_bytes
    assert list(folder.iterdir()) == [target]
    with atomic_writer(target) as out:
        json.dump(items, out)
    assert json.loads(target.read_text(encoding="utf-8")) == items
    assert list(folder.iterdir()) == [target]


def test_an_interrupt_while_writing_is_a_failure_too(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old page")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as out:
        out.write("<html>half")
        raise KeyboardInterrupt
    assert target.read_text() == "old page"
    assert list(tmp_path.iterdir()) == [target]


def test_permissions_are_kept_or_follow_the_umask(tmp_path: Path) -> None:
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    os.chmod(kept, 0o640)
    write_text_atomic(kept, "new")
    assert kept.read_text() == "new"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    previous = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "new.json", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640


def test_a_long_file_name_still_gets_a_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 120 + ".json")  # 245 bytes: a temporary name must stay shorter
    write_text_atomic(target, "ok")
    assert target.read_text() == "ok"


def test_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old page")
    data = b"<p>\r\n\xff\x00 caf\xc3\xa9</p>\n" * 1000  # no decoding, no newline translation
    write_bytes_atomic(target, data)
    assert target.read_bytes() == data
    assert list(tmp_path.iterdir()) == [target]


WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from xray_core.atomic import write_bytes_atomic, write_text_atomic

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    if sys.argv[2] == "text":
        write_text_atomic(sys.argv[1], "x" * 200_000)
    else:
        write_bytes_atomic(sys.argv[1], b"x" * 200_000)
except OSError as exc:
    print("failed:", exc.strerror)
"""


@pytest.mark.parametrize("writes", ["text", "bytes"])
def test_the_disk_refusing_more_bytes_half_way_keeps_the_previous_file(
    tmp_path: Path, writes: str
) -> None:
    pytest.importorskip("resource")
    target = tmp_path / "runs.jsonl"
    target.write_bytes(b"previous\n" * 1000)
    done = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_A_FILE_SIZE_LIMIT, str(target), writes],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "failed: File too large"
    assert target.read_bytes() == b"previous\n" * 1000
    assert list(tmp_path.iterdir()) == [target]
