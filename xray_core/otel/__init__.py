"""OpenTelemetry for X-Ray (``pip install 'decisiontracex[otel]'``), in and out; docs/otel.md.

In — spans captured as X-Ray traces:

- :class:`XRaySpanProcessor` turns the spans of a ``TracerProvider`` into traces (the pytest
  plugin adds one to the global SDK provider by itself);
- :func:`traces_from_spans` / :func:`records_from_spans` turn finished spans into traces.

Out — every trace as spans:

- :func:`export` sends one trace to any ``SpanExporter`` as spans, synchronously;
- ``xray_core.configure(exporter=...)``, ``XRay(exporter=...)`` or ``XRAY_OTLP_ENDPOINT`` send
  every finished trace, through the bounded queue of :class:`ExportQueue`.

:mod:`xray_core.otel.names` names the span attributes both directions use. OpenTelemetry is
imported on first use of one of the names above (``import xray_core`` never imports it;
:mod:`~xray_core.otel.names` never does). The spans are built in :mod:`xray_core.otel.spans`
(not a module called ``export``, which would shadow the function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import lazy as _lazy

if TYPE_CHECKING:
    from .background import ExportQueue, otlp_exporter, queue_for
    from .capture import XRaySpanProcessor, records_from_spans, traces_from_spans
    from .spans import export, trace_spans

_HOMES = {
    "spans": ("export", "trace_spans"),
    "background": ("ExportQueue", "otlp_exporter", "queue_for"),
    "capture": ("XRaySpanProcessor", "records_from_spans", "traces_from_spans"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "ExportQueue", "XRaySpanProcessor", "export", "otlp_exporter", "queue_for",
    "records_from_spans", "trace_spans", "traces_from_spans",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    return _lazy.load(__name__, _HOME_OF, globals(), name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)
