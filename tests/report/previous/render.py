"""The page as it was rendered before session 13 (frozen reference, see payload.py).

Render :class:`ReportData` into one self-contained HTML file (inline CSS/JS, no network).

The page is a fixed file, ``templates/report.html``, with slots: ``{{ title }}`` (text,
HTML-escaped here), ``{{ csp }}`` (its Content-Security-Policy), ``{{ css }}`` and ``{{ js }}``
(this package's static files), and ``{{ before }}`` / ``{{ after }}``: the data elements placed
before and after the page's code (see :func:`data_element`). A report file puts a small JSON
document before the code (the header and one row per trace, so that the list shows while the
browser is still reading the rest) and the full one after it. The template is jinja2 with
autoescape; jinja2 is imported on the first page rendered, so recording never pays for it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from xray_core.serialize import escape_surrogates
from xray_core.report.data import ReportData
from .payload import build_payload, list_payload, script_json

if TYPE_CHECKING:
    import jinja2

#: the page's scripts, inlined in this order (each is a real .js file under static/)
SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js", "overview.js", "app.js")
STYLES = ("report.css",)
#: a report file loads nothing: inline style and script only (``xray serve`` adds its API)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

def _read(*parts: str) -> str:
    return resources.files("xray_core.report").joinpath(*parts).read_text(encoding="utf-8")


def _inline(text: str, closing: str) -> str:
    """Our own static text as element content; refuses text that would end the element early."""
    if closing in text.lower():
        raise ValueError(f"static asset contains {closing!r}, which would end its element")
    return text


@cache
def _template() -> jinja2.Template:
    import jinja2  # on first use: the SDK imports no template engine until a page is rendered

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("xray_core.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")


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
    from markupsafe import Markup  # jinja2's own dependency, loaded with it

    # our own text is marked safe; the title is user text and is escaped by the template
    return _template().render(
        title=escape_surrogates(title),
        csp=Markup(csp),  # checked above: our own policy, quotes kept as written
        css=Markup(_inline(css, "</style")),
        js=Markup(_inline(js, "</script")),
        before=Markup(before),
        after=Markup(after),
    )


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
