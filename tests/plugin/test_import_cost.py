"""What importing decisiontracex loads: production code imports the SDK, and every pytest run of
a project where it is installed imports the plugin.

pydantic, sqlite-utils, rich, jinja2 and pytest are loaded only by what needs them (reading a
trace back builds pydantic models; ``SQLiteStore`` uses SQLite; the CLI prints with rich).
Each case runs in a new interpreter, so that nothing imported by this test process counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "pydantic_core", "sqlite_utils", "rich", "jinja2", "pytest",
         "xray_core.models", "xray_core.store.sqlite")  # fmt: skip

REPORT = f"""
import json, sys
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""

TRACING_OFF = """
import xray_core

with xray_core.step("outside_a_trace", input={"a": 1}) as step:  # no trace: a no-op
    step.set_output({"b": 2})


@xray_core.step("decorated")
def double(x):
    return 2 * x


assert double(2) == 4
with xray_core.trace("off") as trace:  # XRAY_ENABLED=0
    with xray_core.step("inside") as step:
        step.add_evaluation(item_id="B0", qualified=True)
assert trace.name is None  # the null trace: nothing was recorded
"""

RECORDING = """
import xray_core

xr = xray_core.XRay(store=xray_core.MemoryStore())
with xr.trace("explicit", metadata={"product_id": "P1"}) as trace:
    with trace.step("keyword_generation", input={"title": "mug"}) as step:
        step.set_output({"keywords": ["mug"]})
        step.set_reasoning("the title's nouns")
        step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
    with trace.step("filter_and_select") as step:
        step.add_evaluation(item_id="B0", item_data={"price": 9.5},
                            filters=[{"name": "price", "passed": False, "detail": "9.50 < 12.50"}],
                            qualified=False, reasoning="too cheap")
with xray_core.trace("ambient"):  # the default recorder: a bounded MemoryStore
    with xray_core.step("one", input={"x": 1}) as step:
        step.set_output([1, 2])
"""

READ_BACK = """
assert xr.store.get_trace(trace.trace_id).decision("B0").rejected_by("price")
"""


def loaded_after(code: str, **env: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a new interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XRAY_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-c", code + REPORT], capture_output=True, text=True, check=False,
        env={**clean, **env}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_and_no_op_steps_load_nothing_heavy() -> None:
    assert loaded_after(TRACING_OFF, XRAY_ENABLED="0") == []


@pytest.mark.parametrize("enabled", ["1", "0"])
def test_recording_into_memory_loads_nothing_heavy(enabled: str) -> None:
    assert loaded_after(RECORDING, XRAY_ENABLED=enabled) == []


def test_reading_a_trace_back_builds_the_models() -> None:
    loaded = loaded_after(RECORDING + READ_BACK)
    assert {"pydantic", "xray_core.models"} <= set(loaded)
    assert not {"sqlite_utils", "rich", "jinja2", "pytest"} & set(loaded)
