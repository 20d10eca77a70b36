"""Render :class:`ReportData` into one self-contained HTML file (inline CSS/JS, no network).

The page is a fixed file, ``templates/report.html``, with five slots: ``{{ title }}`` (text,
HTML-escaped here), ``{{ css }}`` and ``{{ js }}`` (this package's static files), and the data
as two JSON documents, each escaped for its ``<script>`` element by
:func:`~xray_core.report.payload.script_json`: ``{{ list }}`` (the header and one row per
trace, before the page's code, so that the list shows while the browser is still reading the
rest) and ``{{ payload }}`` (everything, after the code). Filling five slots needs no template
engine: the file is split at its slots once per process, and each report is one ``str.join``.
"""

from __future__ import annotations

import html
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path

from ..atomic import write_text_atomic
from ..serialize import escape_surrogates
from .data import ReportData
from .payload import build_payload, list_payload, script_json

#: the page's scripts, inlined in this order (each is a real .js file under static/)
SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js", "app.js")
STYLES = ("report.css",)

_SLOT = re.compile(r"\{\{ (title|css|js|list|payload) \}\}")


def _read(*parts: str) -> str:
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


def _inline(text: str, closing: str) -> str:
    """Our own static file as element content; refuses text that would end the element early."""
    if closing in text.lower():
        raise ValueError(f"static asset contains {closing!r}, which would end its element")
    return text


@cache
def _page() -> tuple[list[str], dict[str, str]]:
    """The template split at its slots (text, slot name, text, ...), and the inlined assets."""
    pieces = _SLOT.split(_read("templates", "report.html"))
    assets = {
        "css": _inline("\n".join(_read("static", n) for n in STYLES), "</style"),
        "js": _inline("\n".join(_read("static", n) for n in SCRIPTS), "</script"),
    }
    return pieces, assets


def render_report(data: ReportData) -> str:
    """The complete HTML page for ``data``, as a string.

    User data travels only inside the escaped JSON document (see
    :func:`~xray_core.report.payload.script_json`); the page's script inserts it as text.
    """
    pieces, assets = _page()
    payload = build_payload(data)
    values = {
        **assets,
        "title": html.escape(escape_surrogates(data.title)),
        "list": script_json(list_payload(payload)),
        "payload": script_json(payload),
    }
    # odd positions hold slot names (re.split keeps the captured group)
    return "".join(values[piece] if i % 2 else piece for i, piece in enumerate(pieces))


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report for ``data`` to ``path`` (parent directories are created); return it."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"report path {str(target)!r} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(data)
    write_text_atomic(target, page)  # a reader never sees a half-written page
    return target
