"""Render :class:`ReportData` into one self-contained HTML file (inline CSS/JS, no network).

The page is a fixed file, ``templates/report.html``, with slots: ``{{ title }}`` (text,
HTML-escaped here), ``{{ csp }}`` (its Content-Security-Policy), ``{{ css }}`` and ``{{ js }}``
(this package's static files), and ``{{ before }}`` / ``{{ after }}``: the data elements placed
before and after the page's code (see :func:`data_element`). A report file puts a small JSON
document before the code (the header and one row per trace, so that the list shows while the
browser is still reading the rest) and the full one after it. The template is jinja2 with
autoescape; jinja2 is imported on the first page rendered, so recording never pays for it.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import write_bytes_atomic
from ..serialize import escape_surrogates
from .data import ReportData
from .payload import build_payload, list_payload, script_bytes, script_json

if TYPE_CHECKING:
    import jinja2

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


def prepare() -> None:
    """Load what rendering a page needs (jinja2, the template, the static files) now, ahead
    of the first page (the run's keeper process does it while the tests run)."""
    _template()
    assets()


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
    return _report_page(data).decode("utf-8")


def write_report(path: str | os.PathLike[str], data: ReportData) -> Path:
    """Write the report for ``data`` to ``path`` (parent directories are created); return it."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"report path {str(target)!r} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    page_bytes = _report_page(data)
    write_bytes_atomic(target, page_bytes)  # a reader never sees a half-written page
    return target


#: where :func:`_report_page` places the data elements in the rendered page (the title is
#: escaped, so it never holds a ``<``; our own policy, style and script do not hold this)
_SLOT = "<!--xray-data-->"


def _report_page(data: ReportData) -> bytes:
    """:func:`render_report`'s page as UTF-8 bytes.

    The page around the data is rendered with a slot in place of each data element and the
    elements' bytes are joined in: the data (megabytes for a big run) is copied once, never
    decoded to text and encoded again.
    """
    payload = build_payload(data)
    css, js = assets()
    # the overview travels once, in the small document (the page reads it from there)
    full = {key: value for key, value in payload.items() if key != "overview"}
    before = _element("xray-list", list_payload(payload))
    after = _element("xray-data", full)
    parts = page(title=data.title, css=css, js=js, before=_SLOT, after=_SLOT).split(_SLOT)
    if len(parts) != 3:  # a slot in our own static text: render the page as text
        text = page(title=data.title, css=css, js=js, before=b"".join(before).decode("utf-8"),
                    after=b"".join(after).decode("utf-8"))  # fmt: skip
        return text.encode("utf-8")
    head, middle, tail = (part.encode("utf-8") for part in parts)
    return b"".join((head, *before, middle, *after, tail))


def _element(element_id: str, value: Any) -> tuple[bytes, bytes, bytes]:
    """:func:`data_element` as UTF-8 bytes, in three parts (joined once, with the page)."""
    start = f'<script type="application/json" id="{element_id}">'.encode("ascii")
    return start, script_bytes(value), b"</script>"
