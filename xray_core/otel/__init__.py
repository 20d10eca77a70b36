"""OpenTelemetry in X-Ray: spans captured as traces (docs/otel.md).

Needs the ``otel`` extra (``pip install "decisiontracex[otel]"``, the OpenTelemetry SDK); nothing
here is imported by ``xray_core`` itself, and the pytest plugin imports it only when the
pipeline under test has imported OpenTelemetry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .capture import XRaySpanProcessor, records_from_spans, traces_from_spans

_HOME_OF = {
    "XRaySpanProcessor": "capture",
    "records_from_spans": "capture",
    "traces_from_spans": "capture",
}

__all__ = ["XRaySpanProcessor", "records_from_spans", "traces_from_spans"]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'xray_core.otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
