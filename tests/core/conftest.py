"""Fixtures shared by the core SDK tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import xray_core as xray
from xray_core import ambient


@pytest.fixture(autouse=True)
def fresh_default_recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts without a default recorder and without X-Ray environment variables."""
    monkeypatch.delenv("XRAY_DB", raising=False)
    monkeypatch.delenv("XRAY_ENABLED", raising=False)
    monkeypatch.setattr(ambient, "_default", None)
    yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a SQLite database that does not exist yet."""
    return tmp_path / "xray.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[xray.SQLiteStore]:
    """A strict SQLite store, closed after the test."""
    sqlite_store = xray.SQLiteStore(db_path, strict=True)
    yield sqlite_store
    sqlite_store.close()


@pytest.fixture
def record_pipeline() -> Callable[..., str]:
    """A function recording a small two-step trace with evaluations; it returns the trace id."""
    return _record_pipeline


def _record_pipeline(xr: xray.XRay, name: str = "pipeline") -> str:
    """Record a small two-step trace with evaluations; returns its id."""
    with xr.trace(name, metadata={"product_id": "P1"}) as trace:
        with trace.step("keywords", input={"title": "Steel bottle"}) as step:
            step.set_output({"keywords": ["steel", "bottle"]})
            step.set_reasoning("material and kind")
            step.add_llm_metadata(model="mock-llm", tokens_used=42, temperature=0.2)
        with trace.step("filter") as step:
            step.add_evaluation(
                item_id="B0X", item_data={"price": 9.5},
                filters=[{"name": "price", "passed": False, "detail": "9.50 < 12.50"},
                         {"name": "rating", "passed": True, "detail": "4.5 > 3.8"}],
                qualified=False, reasoning="too cheap",
            )  # fmt: skip
            step.add_evaluation(
                item_id="B0Y", item_data={"price": 20.0},
                filters=[{"name": "price", "passed": True, "detail": "20.00 in range"}],
                qualified=True, reasoning="fits",
            )  # fmt: skip
    return trace.trace_id
