"""Trace and step ids: unique, random, never repeated by a forked child or a seeded ``random``."""

from __future__ import annotations

import os
import random
import re

import pytest

import xray_core as xray


def _trace_ids(recorder: xray.XRay, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        with recorder.trace("t") as trace:
            pass
        ids.append(trace.trace_id)
    return ids


def test_trace_ids_are_32_hex_digits_and_unique_across_many_pools() -> None:
    ids = _trace_ids(xray.XRay(), 2_000)  # the recorder draws them 256 at a time
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_seeding_random_does_not_make_trace_ids_repeat() -> None:
    recorder = xray.XRay()
    random.seed(7)
    first = _trace_ids(recorder, 300)
    random.seed(7)
    second = _trace_ids(recorder, 300)
    assert not set(first) & set(second)


def test_step_ids_are_the_trace_id_and_the_order_past_the_precomputed_ones() -> None:
    store = xray.MemoryStore()
    with xray.XRay(store=store).trace("long") as trace:
        for n in range(70):
            with trace.step(f"s{n}"):
                pass
    stored = store.get_trace(trace.trace_id)
    assert stored is not None
    assert [s.step_id for s in stored.steps] == [f"{trace.trace_id}.{n}" for n in range(70)]


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: fork with threads
def test_a_forked_child_never_draws_the_trace_ids_its_parent_draws_next() -> None:
    recorder = xray.XRay()
    _trace_ids(recorder, 1)  # the pool is drawn from: the child inherits the rest of it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read)
            os.write(write, " ".join(_trace_ids(recorder, 20)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    parent = _trace_ids(recorder, 20)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(child) == 20 and not set(child) & set(parent)
