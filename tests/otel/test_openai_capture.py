"""The OpenInference OpenAI instrumentor around the real ``openai`` client: the LLM step's model,
tokens and output are captured from the spans it makes. The client talks to a small
OpenAI-compatible server started on localhost by the test, which returns a canned completion.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

COMPLETION_TEXT = "B0GOOD: the cheapest mug with enough reviews"


class ChatCompletions(BaseHTTPRequestHandler):
    """``POST /v1/chat/completions``: a canned completion naming the model asked for."""

    requests: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        data = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000,
            "model": body["model"] + "-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": COMPLETION_TEXT}}],
            "usage": {"prompt_tokens": 17, "completion_tokens": 9, "total_tokens": 26},
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def openai_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The base URL of a local OpenAI-compatible server, and the requests it received."""
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (ChatCompletions,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


CONFTEST = '''
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
OpenAIInstrumentor().instrument()
'''

TESTS = '''
import json
import os

import openai
from opentelemetry import trace

tracer = trace.get_tracer("shop")


def ask(question):
    client = openai.OpenAI(base_url=os.environ["OPENAI_TEST_URL"], api_key="not-a-key")
    response = client.chat.completions.create(
        model="gpt-4o-mini", temperature=0.3,
        messages=[{"role": "system", "content": "You pick products."},
                  {"role": "user", "content": question}],
    )
    return response.choices[0].message.content


def test_a_lone_llm_call(xray):
    assert ask("Which mug?").startswith("B0GOOD")
    step = xray.step("ChatCompletion")
    assert xray.trace.name == "ChatCompletion" and step.status == "completed"
    llm = step.llm
    assert llm["model"] == "gpt-4o-mini-2024-07-18"
    assert (llm["prompt_tokens"], llm["completion_tokens"], llm["tokens_used"]) == (17, 9, 26)
    assert llm["temperature"] == 0.3
    assert llm["input_messages"] == [
        {"role": "system", "content": "You pick products."},
        {"role": "user", "content": "Which mug?"},
    ]
    assert llm["output_messages"] == [{"role": "assistant", "content": "COMPLETION"}]
    assert step.metadata["span_kind"] == "LLM"
    assert step.input["model"] == "gpt-4o-mini"  # the request, as JSON
    assert step.output["choices"][0]["message"]["content"] == "COMPLETION"
    assert step.output["usage"]["total_tokens"] == 26


def test_an_llm_call_inside_a_pipeline(xray):
    with tracer.start_as_current_span("choose") as span:
        answer = ask("Which mug?")
        pick = answer.split(":")[0]
        span.add_event("xray.evaluation", {
            "xray.item_id": pick, "xray.qualified": True, "xray.reasoning": answer,
        })
        span.add_event("xray.evaluation", {
            "xray.item_id": "B0CHEAP", "xray.qualified": False,
            "xray.filter.llm_pick.passed": False, "xray.filter.llm_pick.detail": "not picked",
        })
    assert [s.name for s in xray.trace.steps] == ["choose", "ChatCompletion"]
    assert xray.step("ChatCompletion").parent_id == xray.step("choose").step_id
    assert xray.step("ChatCompletion").llm["tokens_used"] == 26
    xray.assert_qualified("B0GOOD")
    xray.assert_rejected("B0CHEAP", by="llm_pick")
'''


def test_openinference_openai_spans_are_captured(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    openai_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, requests = openai_server
    monkeypatch.setenv("OPENAI_TEST_URL", url)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_llm=TESTS.replace("COMPLETION", COMPLETION_TEXT))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert [r["path"] for r in requests] == ["/v1/chat/completions"] * 2  # the real client called
    assert requests[0]["body"]["temperature"] == 0.3
