"""What type checkers see of the public API: mypy run over small typed snippets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

TYPED = """
    from __future__ import annotations

    from typing_extensions import assert_type

    import xray_core
    from xray_core.recorder import NullStep, StepContext


    @xray_core.step
    def rank(prices: list[float]) -> list[int]:
        return sorted(range(len(prices)), key=prices.__getitem__)


    @xray_core.step("filter", input={"limit": 3})
    def keep(ids: list[int], limit: int) -> tuple[int, ...]:
        return tuple(ids[:limit])


    async def fetch(query: str) -> None:
        async with xray_core.step("fetch", input=query) as fetched:
            assert_type(fetched, StepContext | NullStep)
            fetched.set_output({"query": query})


    def pipeline() -> None:
        assert_type(rank([2.0, 1.0]), list[int])
        assert_type(keep([1, 2], limit=1), tuple[int, ...])
        with xray_core.trace("t") as trace:
            with xray_core.step("search") as searched:
                assert_type(searched, StepContext | NullStep)
                searched.set_output([1, 2])
                searched.set_reasoning("two found")
            with trace.step("rank") as ranked:
                ranked.set_output(rank([1.0]))
"""

# What a checker must refuse: a wrong type for a decorated function's result, a context
# manager used as the step it records, and a method no step has.
WRONG = """
    import xray_core


    @xray_core.step("filter")
    def keep(ids: list[int]) -> list[int]:
        return ids


    text: str = keep([1])
    xray_core.step("search").set_output(1)
    with xray_core.step("search") as searched:
        searched.set_outptu(1)
"""


def test_type_checkers_see_a_decorator_or_a_context_manager(tmp_path: Path) -> None:
    (tmp_path / "typed.py").write_text(textwrap.dedent(TYPED), encoding="utf-8")
    (tmp_path / "wrong.py").write_text(textwrap.dedent(WRONG), encoding="utf-8")
    out, err, status = api.run([
        "--strict", "--python-version", "3.10", "--cache-dir", str(tmp_path / "cache"),
        "--no-error-summary", "--show-error-codes",
        str(tmp_path / "typed.py"), str(tmp_path / "wrong.py"),
    ])  # fmt: skip
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert [e for e in errors if "typed.py" in e] == [], out + err
    wrong = sorted({e.split(":")[1] for e in errors if "wrong.py" in e})
    assert wrong == ["10", "11", "13"], out + err
    assert status == 1
