"""Capturing the OpenTelemetry spans of the tests (docs/otel.md, "Capture").

Before each test phase the plugin looks for the global ``TracerProvider``; when it is the
OpenTelemetry SDK's, it adds one :class:`xray_core.otel.XRaySpanProcessor` to it (once per
provider: the SDK cannot remove a processor, so it stays and captures only while a pytest session
observes traces). Nothing of OpenTelemetry is imported here unless the pipeline imported it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import XraySession


def install() -> None:
    """Add the capturing processor to the global SDK ``TracerProvider``, if there is one and it
    has none yet (one the pipeline added itself counts)."""
    api = sys.modules.get("opentelemetry.trace")
    sdk = sys.modules.get("opentelemetry.sdk.trace")
    if api is None or sdk is None:
        return
    provider = api.get_tracer_provider()
    if not isinstance(provider, sdk.TracerProvider):
        return  # the no-op proxy (no provider set) or another vendor's provider
    multi = getattr(provider, "_active_span_processor", None)
    if any(getattr(p, "xray_capture", False) for p in getattr(multi, "_span_processors", ())):
        return
    from xray_core.otel.capture import XRaySpanProcessor

    provider.add_span_processor(XRaySpanProcessor(observed_only=True))


def span_to_step(session: XraySession, span: Any, step: dict[str, Any]) -> None:
    """Let ``pytest_xray_span_to_step`` implementations adjust ``step``; one that raises is
    reported in the summary and the step is kept as mapped."""
    hook = session.config.hook.pytest_xray_span_to_step
    if not hook.get_hookimpls():
        return
    try:
        hook(span=span, step=step)
    except Exception as exc:  # noqa: BLE001 - reported in the summary instead
        test = session.current_id
        session.hook_failed(
            "pytest_xray_span_to_step", exc, f"in {test}" if test else "outside any test"
        )
