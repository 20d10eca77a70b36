"""docs/serve.md documents every route of the API with its parameters, and the real messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .histories import record_history

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from xray_core.serve.app import create_app

    db = tmp_path_factory.mktemp("doc") / "runs.db"
    record_history(db, 1)
    app = create_app(db)
    try:
        return app.openapi()
    finally:
        app.state.db.close()


def test_every_route_and_parameter_is_in_the_api_table(spec: dict) -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `GET (/api/[^?` ]*)[^|]*\|",
                                                        text, re.MULTILINE)}  # fmt: skip
    documented = {re.sub(r"\{\w+\}", "{}", path) for path in rows}
    served = {re.sub(r"\{\w+\}", "{}", path) for path in spec["paths"]}
    assert documented == served
    for path, methods in spec["paths"].items():
        assert set(methods) == {"get"}, path  # read-only: GET only
        row = rows[next(p for p in rows if re.sub(r"\{\w+\}", "{}", p)
                        == re.sub(r"\{\w+\}", "{}", path))]  # fmt: skip
        for parameter in methods["get"].get("parameters", []):
            if parameter["in"] == "query":
                assert f"{parameter['name']}=" in row, (path, parameter["name"])


def test_the_documented_messages_are_the_real_ones() -> None:
    from xray_core.commands.serve import EXTRA

    text = DOC.read_text(encoding="utf-8")
    assert f"xray: error: xray serve needs the serve extra: {EXTRA} (...)" in text
    assert EXTRA == "pip install 'decisiontracex[serve]'"
    # the same text tests/serve/test_command.py finds on the real server's stderr
    assert ("xray: warning: serving on 0.0.0.0: anyone who can reach this port reads every "
            "trace of the database (inputs, outputs, reasoning, failure messages)") in text
    for image in re.findall(r"\]\((img/[^)]+)\)", text):
        assert (DOC.parent / image).is_file(), image
