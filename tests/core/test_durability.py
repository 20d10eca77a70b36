"""Durability: what survives SIGKILL, exceptions and exits, and 8 processes writing one file."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from pathlib import Path

import pytest

import xray_core as xray

CHILD_PRELUDE = """
import sys, time
import xray_core as xray
store = xray.SQLiteStore(sys.argv[1])
xr = xray.XRay(store=store)
def signal_parent(text):
    sys.stdout.write(text + "\\n")
    sys.stdout.flush()
"""


class Child:
    """A Python child process recording into ``db_path``; it signals us by printing lines."""

    def __init__(self, db_path: Path, body: str) -> None:
        code = CHILD_PRELUDE + textwrap.dedent(body)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def read_line(self, timeout: float = 20.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the child process did not signal in time") from None

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the child to end; returns its exit code."""
        code = self.process.wait(timeout)
        self._pump_thread.join(timeout)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return self.wait()


def check_integrity(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn


def read_back(db_path: Path) -> list[xray.Trace]:
    with xray.SQLiteStore(db_path, strict=True) as store:
        return store.list_traces(limit=None)


def test_sigkill_mid_trace_keeps_finished_steps_and_a_sound_database(db_path: Path) -> None:
    child = Child(db_path, """
        with xr.trace("killed") as trace:
            signal_parent(trace.trace_id)
            for n in range(3):
                with trace.step(f"step-{n}") as step:
                    step.set_output({"n": n})
            with trace.step("stuck"):
                signal_parent("stuck")
                time.sleep(60)
    """)
    try:
        trace_id = child.read_line()
        assert child.read_line() == "stuck"
        time.sleep(0.3)  # past the 100 ms durability window, with room for a loaded machine
    finally:
        assert child.kill() == -signal.SIGKILL
    check_integrity(db_path).close()
    [trace] = read_back(db_path)
    assert trace.trace_id == trace_id
    assert trace.status == "running"  # it never ended
    assert [(s.name, s.output) for s in trace.steps] == [
        ("step-0", {"n": 0}), ("step-1", {"n": 1}), ("step-2", {"n": 2})
    ]  # fmt: skip


def test_sigkill_after_the_durability_window_loses_no_finished_step(db_path: Path) -> None:
    child = Child(db_path, """
        with xr.trace("busy") as trace:
            n = 0
            while True:
                with trace.step(f"step-{n}") as step:
                    step.set_output(n)
                signal_parent(str(n))
                n += 1
                time.sleep(0.002)
    """)
    try:
        seen = [int(child.read_line()) for _ in range(20)]
        finished_before = seen[-1]
        time.sleep(0.3)  # every step signalled so far is well past the 100 ms window
    finally:
        child.kill()
    check_integrity(db_path).close()
    [trace] = read_back(db_path)
    stored = [s.output for s in trace.steps]
    assert stored[: finished_before + 1] == list(range(finished_before + 1))
    assert len(stored) > finished_before + 1  # the child kept recording while we waited


def test_a_finished_step_is_on_disk_within_100_ms(db_path: Path) -> None:
    store = xray.SQLiteStore(db_path, strict=True)
    reader = sqlite3.connect(db_path)
    delays = []
    with xray.XRay(store=store).trace("window") as trace:
        for n in range(11):
            with trace.step(f"s{n}"):
                pass
            ended = time.perf_counter()
            while not reader.execute(
                "SELECT 1 FROM steps WHERE step_id = ?", [f"{trace.trace_id}.{n}"]
            ).fetchone():
                assert time.perf_counter() - ended < 5, "step never reached the database"
                time.sleep(0.001)
            delays.append(time.perf_counter() - ended)
    reader.close()
    store.close()
    assert statistics.median(delays) < 0.1


def test_a_trace_end_commits_everything_before_returning(store: xray.SQLiteStore) -> None:
    with xray.XRay(store=store).trace("t") as trace:
        for n in range(200):
            with trace.step(f"s{n}"):
                pass
    conn = sqlite3.connect(store.path)  # a separate connection, no flush asked
    assert conn.execute("SELECT count(*) FROM steps").fetchone()[0] == 200
    assert conn.execute("SELECT status FROM traces").fetchone()[0] == "completed"
    conn.close()


@pytest.mark.parametrize(
    ("body", "returncode", "status"),
    [
        pytest.param("""
            trace = xr.trace("never-exited").__enter__()   # the program just ends
            for n in range(50):
                with trace.step(f"s{n}"):
                    pass
        """, 0, "running", id="normal-exit-inside-a-trace"),
        pytest.param("""
            with xr.trace("raises") as trace:
                for n in range(50):
                    with trace.step(f"s{n}"):
                        pass
                raise RuntimeError("the pipeline crashed")
        """, 1, "failed", id="uncaught-exception"),
        pytest.param("""
            with xr.trace("exits") as trace:
                for n in range(50):
                    with trace.step(f"s{n}"):
                        pass
                sys.exit(3)
        """, 3, "failed", id="sys-exit"),
    ],
)  # fmt: skip
def test_nothing_is_lost_when_the_process_ends(
    db_path: Path, body: str, returncode: int, status: str
) -> None:
    child = Child(db_path, body)
    assert child.wait() == returncode
    [trace] = read_back(db_path)
    assert trace.status == status
    assert [s.name for s in trace.steps] == [f"s{n}" for n in range(50)]


WRITERS, TRACES, STEPS = 8, 6, 25


def _writer(db_path: str, index: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    try:
        barrier.wait()  # every process opens (and migrates) the fresh file at once
        store = xray.SQLiteStore(db_path, strict=True)
        xr = xray.XRay(store=store)
        for t in range(TRACES):
            with xr.trace(f"p{index}-t{t}") as trace:
                for s in range(STEPS):
                    with trace.step(f"s{s}") as step:
                        step.set_output({"process": index, "step": s})
                        step.add_evaluation(f"item-{s}", qualified=s % 2 == 0)
        store.close()
    except BaseException:  # shown under "Captured stderr" when the test fails
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0 if store.errors == 0 else 2)


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_eight_processes_writing_one_file_lose_no_step(db_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    processes = [
        context.Process(target=_writer, args=(str(db_path), i, barrier)) for i in range(WRITERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * WRITERS
    conn = check_integrity(db_path)
    assert conn.execute("SELECT count(*) FROM steps").fetchone()[0] == WRITERS * TRACES * STEPS
    conn.close()
    traces = read_back(db_path)
    assert sorted(t.name for t in traces) == sorted(
        f"p{i}-t{t}" for i in range(WRITERS) for t in range(TRACES)
    )
    for trace in traces:
        process = int(trace.name[1:].split("-")[0])
        assert trace.status == "completed"
        assert [s.output for s in trace.steps] == [
            {"process": process, "step": s} for s in range(STEPS)
        ]
        assert len(trace.qualified()) == (STEPS + 1) // 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_before_its_trace_row_was_committed_finds_it_and_adds_steps(
    tmp_path: Path,
) -> None:
    """fork() waits until the parent's writer committed what it had queued: the trace row the
    parent had only queued is in the database when the child adds its steps (a step of a trace
    the database does not have would be refused)."""
    db = tmp_path / "forked.db"
    store = xray.SQLiteStore(db, strict=True)
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # the parent's writer cannot commit until it ends
    release = threading.Timer(0.3, blocker.rollback)
    release.start()
    with xray.XRay(store=store).trace("forked") as trace:
        pid = os.fork()  # the trace's row is queued, not committed: the lock is still held
        if pid == 0:
            status = 1
            try:
                reader = sqlite3.connect(db)
                found = reader.execute("SELECT count(*) FROM traces").fetchone()[0]
                reader.close()
                assert found == 1, "the trace row the parent queued is not in the database"
                with trace.step("child"):
                    pass
                store.flush()  # strict: a refused step raises here
                status = 0
            except BaseException:  # shown by the parent's assertion
                (tmp_path / "child.txt").write_text(traceback.format_exc(), encoding="utf-8")
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
    release.join()
    blocker.close()
    failure = tmp_path / "child.txt"
    assert os.waitstatus_to_exitcode(status) == 0, (
        failure.read_text(encoding="utf-8") if failure.exists() else "no traceback"
    )
    stored = store.get_trace(trace.trace_id)
    store.close()
    assert stored is not None and [s.name for s in stored.steps] == ["child"]
