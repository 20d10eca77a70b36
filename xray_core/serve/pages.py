"""The pages of ``xray serve``: the HTML report's own page and scripts, fed from the API.

A run (``/runs/<ref>``) or a comparison (``/compare?a=&b=``) is the report's template rendered
around a loader (``static/loader.js``) instead of an embedded document: the loader fetches the
report's data from ``/api/report`` and starts the report's scripts on it, so the views and their
escaping are the report's own. The index (``/``) lists the runs and shows an item's history and
the stability, built with the report's DOM helpers (``dom.js``, ``views.js``): every value is
inserted as text, never parsed as HTML.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

from ..report.render import data_element
from ..report.render import page as report_page

#: the report's scripts, in the order its page inlines them (xray_core/report/render.py)
REPORT_SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js", "overview.js", "app.js")
INDEX_SCRIPTS = ("dom.js", "tree.js", "detail.js", "views.js")
#: pages load nothing from elsewhere and fetch data from this server only
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "connect-src 'self'; img-src data:")  # fmt: skip


@cache
def _file(package: str, name: str) -> str:
    return (resources.files(package) / "static" / name).read_text(encoding="utf-8")


def _report(name: str) -> str:
    return _file("xray_core.report", name)


def _own(name: str) -> str:
    return _file("xray_core.serve", name)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("xray_core.serve", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip


def _inline(text: str, closing: str) -> Markup:
    """Our own static text as element content; refuses text that would end the element early."""
    if closing in text.lower():
        raise ValueError(f"static asset contains {closing!r}, which would end its element")
    return Markup(text)


def report_shell(title: str, query: dict[str, str], *, view: str | None = None) -> str:
    """The report's page for the data at ``/api/report?<query>`` (opened at ``view``)."""
    scripts = "\n".join(_report(name) for name in REPORT_SCRIPTS)
    js = f"{_own('loader.js')}\nloadReport(() => {{\n{scripts}\n}});"
    source = {"source": "/api/report?" + urlencode(query), "view": view}
    return report_page(
        title=f"X-Ray: {title}", csp=CSP, css=_report("report.css") + "\n" + _own("serve.css"),
        js=js, before=data_element("xray-data", source),  # the loader reads it, then the data
    )  # fmt: skip


def index_page(database: str) -> str:
    """The runs list, an item's history, the stability (hash routes: ``#/runs``...)."""
    scripts = "\n".join([*(_report(name) for name in INDEX_SCRIPTS), _own("serve.js")])
    context: dict[str, Any] = {
        "title": "X-Ray runs", "database": database, "csp": CSP,
        "css": _inline(_report("report.css") + "\n" + _own("serve.css"), "</style"),
        "js": _inline(scripts, "</script"),
    }  # fmt: skip
    return _environment().get_template("index.html.j2").render(**context)
