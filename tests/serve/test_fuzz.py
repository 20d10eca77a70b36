"""Any query the real server receives is answered with JSON: 200, or a 400/404 error, never a 500.

A schemathesis-like fuzz written with hypothesis: each endpoint gets arbitrary values (and
arbitrary bytes) for its own parameters, and the server's stderr must stay free of tracebacks
(checked when the module's server stops, see conftest.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Served

PARAMETERS = {
    "/api/runs": ["limit", "cursor", "status"],
    "/api/traces": ["run", "test", "name", "status", "q", "limit", "cursor"],
    "/api/diff": ["a", "b", "test", "ignore", "tolerance", "include_llm", "include_reasoning",
                  "partial"],
    "/api/history": ["test", "item", "step", "last"],
    "/api/stability": ["last", "test"],
    "/api/report": ["run", "base"],
}  # fmt: skip
TRICKY = ["latest", "latest~1", "latest~99", "latest~-1", "0", "-1", "501", "1e309", "nan", "inf",
          "true", "", " ", "%", "_", "*", "[", "[!", "\\", "'", '"', "\x00", "B02", "completed",
          "failed", "::test_pick", "tests/*", "a" * 5000, "eyJ4Ijoy", "WyJ4Il0", "WyIiLCIiXQ",
          "../../etc/passwd", "<script>", "\u2028", "é", "🙂"]  # fmt: skip
VALUES = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30),
                   st.integers(-(2**70), 2**70).map(str),
                   st.floats(allow_nan=True).map(repr))  # fmt: skip
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def check(response: httpx.Response) -> None:
    assert response.status_code in (200, 400, 404), (response.status_code, response.text[:500])
    assert response.headers["content-type"] == "application/json", response.text[:200]
    body = response.json()
    if response.status_code != 200:
        assert isinstance(body["error"], str) and body["error"], body
        assert "Traceback" not in body["error"]


@pytest.mark.parametrize("path", sorted(PARAMETERS))
def test_any_parameter_values_get_an_answer_or_a_json_error(server: Served, path: str) -> None:
    names = PARAMETERS[path]

    @SETTINGS
    @given(st.lists(st.tuples(st.sampled_from(names), VALUES), max_size=5))
    def probe(pairs: list[tuple[str, str]]) -> None:
        check(server.get(path, params=pairs))

    probe()


@pytest.mark.parametrize("path", sorted(PARAMETERS))
def test_any_bytes_in_the_query_string_get_an_answer_or_a_json_error(
    server: Served, path: str
) -> None:
    names = PARAMETERS[path]

    @SETTINGS
    @given(st.lists(st.tuples(st.sampled_from(names), st.binary(max_size=20)), max_size=4),
           st.sampled_from(["", "%", "%zz", "%ff%fe", "&&=", "=x"]))  # fmt: skip
    def probe(pairs: list[tuple[str, bytes]], junk: str) -> None:
        query = "&".join(f"{name}={quote_from_bytes(value)}" for name, value in pairs) + junk
        check(server.client.get(f"{server.url}{path.lstrip('/')}?{query}"))

    probe()


@pytest.mark.parametrize("prefix", ["/api/runs/", "/api/traces/"])
def test_any_id_in_the_path_gets_an_answer_or_a_json_error(server: Served, prefix: str) -> None:
    @SETTINGS
    @given(st.one_of(st.sampled_from(TRICKY[:-4]), st.text(min_size=1, max_size=40)))
    def probe(ref: Any) -> None:
        check(server.client.get(server.url + prefix.lstrip("/") + quote(ref, safe="")))

    probe()
