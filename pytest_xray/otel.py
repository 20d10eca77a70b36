"""Capturing the OpenTelemetry spans of the tests (docs/otel.md, "Capture").

Before each test phase the plugin looks for the global ``TracerProvider``; when it is the
OpenTelemetry SDK's, it adds one :class:`xray_core.otel.XRaySpanProcessor` to it (once per
provider: the SDK cannot remove a processor, so it stays and captures only while a pytest session
observes traces). Nothing of OpenTelemetry is imported here unless the pipeline imported it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from xray_core.serialize import is_json_text, to_jsonable
from xray_core.store.base import STATUSES

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
    reported in the summary and the step is kept as mapped. A value a step cannot hold (a name
    that is not text, a status not in ``Status``...) is reported the same way and the mapped
    value kept for that field; new inputs, outputs and metadata are converted as the recorder
    converts what it is given."""
    hook = session.config.hook.pytest_xray_span_to_step
    if not hook.get_hookimpls():
        return
    mapped = dict(step)
    try:
        hook(span=span, step=step)
    except Exception as exc:  # noqa: BLE001 - reported in the summary instead
        step.clear()
        step.update(mapped)
        _hook_failed(session, exc)
        return
    for key, value in list(step.items()):
        if key in mapped and value is mapped[key]:
            continue
        problem = _unfit(key, value)
        if problem is None:
            continue
        if key in mapped:
            step[key] = mapped[key]
        else:
            del step[key]
        _hook_failed(session, ValueError(f"step[{key!r}] = {_shown(value)}: {problem}"))
    for key in mapped.keys() - step.keys():
        step[key] = mapped[key]
        _hook_failed(session, ValueError(f"step[{key!r}] deleted: a step keeps every field"))
    # set or changed in place (which no identity test sees): converted as the recorder converts
    # what it is given; kept as they are: a span's JSON text (JSONText, checked when read) and
    # the mapping's own snapshot (bytes, which nothing changes in place)
    for key in ("input", "output", "metadata"):
        value = step.get(key)
        if is_json_text(value) or (type(value) is bytes and value is mapped.get(key)):
            continue
        step[key] = to_jsonable(value)


def _shown(value: Any) -> str:
    try:
        shown = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ still gets its value named
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _hook_failed(session: XraySession, exc: Exception) -> None:
    test = session.current_id
    session.hook_failed(
        "pytest_xray_span_to_step", exc, f"in {test}" if test else "outside any test"
    )


_TEXT_OR_NONE = ("reasoning", "error", "parent_id")
_NUMBER_OR_NONE = ("start_time", "end_time", "duration_ms")


def _unfit(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be a step's ``key`` (None when it can)."""
    if key in ("input", "output"):
        return None  # any value: converted
    if key == "metadata":
        return None if isinstance(value, dict) else f"metadata is a dict, not {type(value).__name__}"
    if key in ("name", "step_id", "trace_id"):
        return None if type(value) is str and value else "must be non-empty text"
    if key == "status":
        if type(value) is str and value in STATUSES:
            return None
        return f"must be one of {', '.join(STATUSES)}"
    if key in _TEXT_OR_NONE:
        return None if value is None or type(value) is str else "must be text or None"
    if key == "step_order":
        return None if type(value) is int else "must be an int"
    if key in _NUMBER_OR_NONE:
        return None if value is None or type(value) in (int, float) else "must be a number"
    return f"not a field of a step (fields: {', '.join(sorted(_FIELDS))})"


_FIELDS = {"input", "output", "metadata", "name", "step_id", "trace_id", "status",
           *_TEXT_OR_NONE, "step_order", *_NUMBER_OR_NONE}  # fmt: skip
