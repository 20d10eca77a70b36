"""Render :class:`ReportData` into one self-contained HTML file (inline CSS/JS, no network)."""

from __future__ import annotations

import os
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..atomic import write_text_atomic
from .data import ReportData
from .payload import build_payload, script_json

#: the page's scripts, inlined in this order (each is a real .js file under static/)
SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js", "app.js")
STYLES = ("report.css",)


@cache
def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("xray_core.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _inline(text: str, closing: str) -> Markup:
    """Our own static file as element content; refuses text that would end the element early."""
    if closing in text.lower():
        raise ValueError(f"static asset contains {closing!r}, which would end its element")
    return Markup(text)


def render_report(data: ReportData) -> str:
    """The complete HTML page for ``data``, as a string.

    User data travels only inside the escaped JSON document (see
    :func:`~xray_core.report.payload.script_json`); the page's script inserts it as text.
    """
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=data.title,
        css=_inline("\n".join(_static(n) for n in STYLES), "</style"),
        js=_inline("\n".join(_static(n) for n in SCRIPTS), "</script"),
        payload=Markup(script_json(build_payload(data))),
    )


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report for ``data`` to ``path`` (parent directories are created); return it."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"report path {str(target)!r} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(data)
    write_text_atomic(target, html)  # a reader never sees a half-written page
    return target
