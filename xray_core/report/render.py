"""Render :class:`ReportData` into one self-contained HTML file (inline CSS/JS, no network).

The page is a fixed file, ``templates/report.html``, with slots: ``{{ title }}`` (text,
HTML-escaped here), ``{{ csp }}`` (its Content-Security-Policy), ``{{ css }}`` and ``{{ js }}``
(this package's static files), and ``{{ before }}`` / ``{{ after }}``: the data elements placed
before and after the page's code (see :func:`data_element`). A report file puts a small JSON
document before the code (the header and one row per trace, so that the list shows while the
browser is still reading the rest) and the full one after it.

The file is written in jinja2's syntax, but it is nothing but slots, so it is filled here, the
way jinja2 with autoescape would fill it (the title escaped by markupsafe, our own parts as they
are, the last newline dropped; ``tests/report/test_page_slots.py`` compares the two): jinja2's
import and the template's compilation took a tenth of a second of every ``--xray-report`` run.
A template with anything else than the known slots (a ``{% ... %}`` block, a filter, another
name) is refused when the first page is rendered.
"""

from __future__ import annotations

import os
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_text_atomic
from ..serialize import escape_surrogates
from .data import ReportData
from .payload import build_payload, list_payload, script_json

if TYPE_CHECKING:
    from collections.abc import Mapping

#: the page's scripts, inlined in this order (each is a real .js file under static/)
SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js", "overview.js", "app.js")
STYLES = ("report.css",)
#: a report file loads nothing: inline style and script only (``xray serve`` adds its API)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

def _read(*parts: str) -> str:
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


def _inline(text: str, closing: str) -> str:
    """Our own static text as element content; refuses text that would end the element early."""
    if closing in text.lower():
        raise ValueError(f"static asset contains {closing!r}, which would end its element")
    return text


#: the template's slots; the title is user text (escaped), the others are our own HTML
SLOTS = ("title", "csp", "css", "js", "before", "after")
_SLOT = re.compile(r"\{\{ ([a-z]+) \}\}")
_OTHER_SYNTAX = re.compile(r"\{[{%#]")


@cache
def _template() -> tuple[str, ...]:
    """The page's text split around its slots: text, slot name, text, ..., text."""
    text = _read("templates", "report.html.j2")
    parts = tuple(_SLOT.split(text.removesuffix("\n")))  # jinja2 drops the last newline
    names = set(parts[1::2])
    strays = [m.group() for piece in parts[::2] for m in _OTHER_SYNTAX.finditer(piece)]
    if strays or not names <= set(SLOTS):
        raise ValueError(f"report.html.j2 has more than the slots {', '.join(SLOTS)}: "
                         f"{sorted(names - set(SLOTS)) or strays}")  # fmt: skip
    return parts


def _fill(parts: tuple[str, ...], values: Mapping[str, str]) -> str:
    return "".join(values[piece] if i % 2 else piece for i, piece in enumerate(parts))


@cache
def assets() -> tuple[str, str]:
    """The report's own CSS and script, each the concatenation of its static files."""
    return "\n".join(_read("static", n) for n in STYLES), "\n".join(
        _read("static", n) for n in SCRIPTS
    )


def data_element(element_id: str, value: Any) -> str:
    """A ``<script type="application/json">`` element holding ``value`` (escaped for it)."""
    return f'<script type="application/json" id="{element_id}">{script_json(value)}</script>'


def page(
    *, title: str, css: str, js: str, before: str, after: str = "", csp: str = REPORT_CSP
) -> str:
    """The report's page around the given parts (``xray serve`` serves it too, with its data
    fetched by its own script instead of embedded).

    :param before: data elements placed before the code (see :func:`data_element`).
    :param after: data elements placed after the code.
    """
    if '"' in csp or "<" in csp:  # a policy of ours, placed in a double-quoted attribute
        raise ValueError(f"not a Content-Security-Policy: {csp!r}")
    from markupsafe import escape  # jinja2's own escaping (a small C extension), not jinja2

    # the title is user text and is escaped; the rest is our own text, placed as it is
    return _fill(_template(), {
        "title": str(escape(escape_surrogates(title))),
        "csp": csp,  # checked above: our own policy, quotes kept as written
        "css": _inline(css, "</style"),
        "js": _inline(js, "</script"),
        "before": before,
        "after": after,
    })  # fmt: skip


def render_report(data: ReportData) -> str:
    """The complete HTML page for ``data``, as a string.

    User data travels only inside the escaped JSON documents (see
    :func:`~xray_core.report.payload.script_json`); the page's script inserts it as text.
    """
    payload = build_payload(data)
    css, js = assets()
    # the overview travels once, in the small document (the page reads it from there)
    full = {key: value for key, value in payload.items() if key != "overview"}
    return page(
        title=data.title,
        css=css,
        js=js,
        before=data_element("xray-list", list_payload(payload)),
        after=data_element("xray-data", full),
    )


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report for ``data`` to ``path`` (parent directories are created); return it."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"report path {str(target)!r} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_report(data)
    write_text_atomic(target, text)  # a reader never sees a half-written page
    return target
