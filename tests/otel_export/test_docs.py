"""docs/otel.md: its marked export examples run, and its mapping table names every attribute and
event that export writes."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import xray_core as xray
from xray_core.otel import trace_spans

from .conftest import record_pipeline

DOC = Path(__file__).resolve().parents[2] / "docs" / "otel.md"
EXAMPLE = re.compile(r"<!-- otel-export example -->\n```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def test_the_export_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOC.read_text(encoding="utf-8")
    examples = [
        (text.count("\n", 0, m.start()) + 3, m.group(1)) for m in EXAMPLE.finditer(text)
    ]
    assert len(examples) == 2
    module = types.ModuleType("otel_doc_examples")
    monkeypatch.setitem(sys.modules, "otel_doc_examples", module)
    try:
        for line, code in examples:
            exec(compile(code, f"{DOC}:{line}", "exec"), module.__dict__)
    finally:
        queue = module.__dict__.get("queue_for")
        if queue is not None:
            queue(module.__dict__["exporter"]).shutdown()


def test_the_mapping_table_names_every_attribute_export_writes() -> None:
    xr = xray.XRay()
    trace = xr.store.get_trace(record_pipeline(xr, fail=True))
    assert trace is not None
    trace = trace.model_copy(update={"run_id": "r", "test_id": "t"})
    written = set()
    for span in trace_spans(trace):
        written |= set(span.attributes)
        for event in span.events:
            written |= {event.name, *event.attributes}
    written = {re.sub(r"\.\d+\.", ".<i>.", name) for name in written}
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_.<>]+(?:\.[a-z_<>]+)+|exception|metadata)`", text))
    missing = {
        name for name in written
        if name not in documented
        and not any(name.startswith(prefix) and name.replace(prefix, "") in text for prefix in (
            "llm.input_messages.<i>.", "llm.output_messages.<i>.",
        ))
    }  # fmt: skip
    assert missing == set()
