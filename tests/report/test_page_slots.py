"""The report page's slots are filled as jinja2 with autoescape filled them (the page no longer
imports jinja2: see xray_core/report/render.py)."""

from __future__ import annotations

import jinja2
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from xray_core.report.render import REPORT_CSP, SLOTS, _SLOT, _template, assets, page
from xray_core.serialize import escape_surrogates

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("xray_core.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# our own parts never hold their closing tags (page() refuses them)
ours = st.text(max_size=40).filter(lambda s: "</" not in s.lower())


def jinja2_page(title: str, css: str, js: str, before: str, after: str) -> str:
    return ENVIRONMENT.get_template("report.html.j2").render(
        title=escape_surrogates(title), csp=Markup(REPORT_CSP), css=Markup(css), js=Markup(js),
        before=Markup(before), after=Markup(after),
    )  # fmt: skip


@given(title=st.text(max_size=40), css=ours, js=ours, before=ours, after=ours)
def test_the_page_is_what_jinja2_rendered(
    title: str, css: str, js: str, before: str, after: str
) -> None:
    ours_ = page(title=title, css=css, js=js, before=before, after=after)
    assert ours_ == jinja2_page(title, css, js, before, after)


def test_the_real_assets_and_a_hostile_title() -> None:
    css, js = assets()
    title = "<script>alert(\"x\")</script> & 'q' \udcff"
    rendered = page(title=title, css=css, js=js, before="<b>", after="")
    assert rendered == jinja2_page(title, css, js, "<b>", "")
    assert "<script>alert" not in rendered and "&lt;script&gt;alert(&#34;x&#34;)" in rendered


def test_the_template_holds_only_the_known_slots() -> None:
    parts = _template()
    assert set(parts[1::2]) == set(SLOTS)
    assert not any(_SLOT.search(piece) for piece in parts[::2])
