"""OpenTelemetry is imported only when used: not by ``import xray_core``, recording, the ambient
recorder, ``xray_core.otel`` itself or its attribute names (which a capture reads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import xray_core
import xray_core.otel
from xray_core.otel import names

xr = xray_core.XRay()
with xr.trace("t") as trace:
    with trace.step("s", input={"a": 1}) as step:
        step.add_evaluation(item_id="B0", qualified=True)
xr.store.get_trace(trace.trace_id)
with xray_core.trace("ambient"):
    with xray_core.step("s"):
        pass
xray_core.configure(enabled=True)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")))
"""


def imported(script: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": "", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_xray_core_records_without_importing_opentelemetry() -> None:
    assert imported(SCRIPT) == []


def test_the_export_imports_it_when_used() -> None:  # the check above can fail
    script = SCRIPT.replace("xray_core.configure(enabled=True)", "xray_core.otel.export")
    assert "opentelemetry.sdk.trace" in imported(script)
