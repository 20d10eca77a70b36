"""The store reads a step's JSON text as ``serialize.loads_json`` reads it, whatever it holds.

The reads parse stored JSON with pydantic's parser where it can (faster) and with
``loads_json`` otherwise; the data must be the same: big ints, NaN and infinities, escapes of
lone surrogates (made text as X-Ray records it), any nesting.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xray_core as xray
from xray_core.serialize import loads_json

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=4)
           | st.sampled_from(["\udce9", "\ud83d\ude00", "é", "\x00"]))  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                      max_leaves=8)  # fmt: skip
#: the JSON text another program (or an older X-Ray) may have stored: escaped or not
texts = st.tuples(values, st.booleans()).map(lambda v: stored_text(*v))


def stored_text(value: Any, ascii_only: bool) -> str:
    """JSON text of ``value``; escaped where UTF-8 cannot hold it (a lone surrogate)."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, allow_nan=True)
    return text


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("json") / "runs.db"
    xray.SQLiteStore(path, strict=True).close()
    return path


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(output=texts, metadata=texts)
def test_a_stored_steps_json_reads_as_loads_json_reads_it(
    db: Path, output: str, metadata: str
) -> None:
    meta = loads_json(metadata)
    if not isinstance(meta, dict):  # a step's metadata is an object
        metadata = json.dumps({"m": json.loads(metadata)}, allow_nan=True)
        meta = loads_json(metadata)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM steps")
    conn.execute("DELETE FROM traces")
    conn.execute("INSERT INTO traces (trace_id, name, start_time, status, metadata) "
                 "VALUES ('t', 'n', '2026-01-01T00:00:00.000000+00:00', 'completed', ?)",
                 [metadata])  # fmt: skip
    conn.execute("INSERT INTO steps (step_id, trace_id, name, step_order, output, metadata, "
                 "status, start_time) VALUES ('t.0', 't', 's', 0, ?, ?, 'completed', "
                 "'2026-01-01T00:00:00.000000+00:00')", [output, metadata])  # fmt: skip
    conn.close()
    with xray.SQLiteStore(db, strict=True, read_only=True) as store:
        trace = store.get_trace("t")
    assert trace is not None
    assert same(trace.steps[0].output, loads_json(output))
    assert same(trace.steps[0].metadata, meta) and same(trace.metadata, meta)
