"""OpenTelemetry for X-Ray: every trace out as spans (``pip install 'decisiontracex[otel]'``).

- :func:`export` sends one trace to any ``SpanExporter`` as spans, synchronously;
- ``xray_core.configure(exporter=...)``, ``XRay(exporter=...)`` or ``XRAY_OTLP_ENDPOINT`` send
  every finished trace, through the bounded queue of :class:`ExportQueue`;
- :mod:`xray_core.otel.names` names the span attributes (docs/otel.md has the table).

OpenTelemetry is imported on first use of :func:`export` and the others (``import xray_core``
never imports it; :mod:`~xray_core.otel.names` never does). The spans are built in
:mod:`xray_core.otel.spans` (not a module called ``export``, which would shadow the function).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .background import ExportQueue, otlp_exporter, queue_for
    from .spans import export, trace_spans

_HOMES = {
    "spans": ("export", "trace_spans"),
    "background": ("ExportQueue", "otlp_exporter", "queue_for"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = ["ExportQueue", "export", "otlp_exporter", "queue_for", "trace_spans"]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'xray_core.otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
