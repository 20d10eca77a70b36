"""``xray stability`` compares like with like: a real pytest run of a hypothesis test (different
inputs per example) reports no flips; the same input deciding differently does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .realcli import xray

TESTS = """
import itertools

from hypothesis import given, settings, strategies as st

import xray_core as xc


def decide(price, qualified=None):
    with xc.trace("pricing"):
        with xc.step("filter", input={"price": price}) as step:
            ok = price >= 10 if qualified is None else qualified
            step.add_evaluation("B0X", qualified=ok,
                                filters=[{"name": "price", "passed": ok, "detail": f"{price} vs 10"}])


@settings(max_examples=40, database=None, derandomize=True)
@given(st.integers(0, 20))
def test_prices(price):
    decide(price)


_calls = itertools.count()


def test_flaky_on_one_input():
    for _ in range(4):
        decide(12, qualified=next(_calls) % 2 == 0)
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("stability")
    (root / "test_pricing.py").write_text(TESTS)
    # a hypothesis test as a user runs it: with hypothesis' pytest plugin, which the suite's
    # PYTEST_ADDOPTS leaves out of the sessions it starts (tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--xray-db=runs.db"], cwd=root, capture_output=True, text=True,
                          timeout=300, check=False, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return str(root / "runs.db")


def test_hypothesis_examples_with_different_inputs_are_not_flips(db: str) -> None:
    data = json.loads(xray("stability", "--db", db, "--json", "--test", "test_prices").stdout)
    decisions = data["decisions"]
    assert data["by_input"] is True and len(decisions) > 5  # one per distinct price
    assert all(d["flips"] == 0 for d in decisions)
    assert data["groups"]["count"] == len(decisions)
    assert {d["group"] for d in decisions} >= {'{"price":0}', '{"price":10}'}
    # pooled as before: the examples' different verdicts counted as flips
    pooled = json.loads(xray("stability", "--db", db, "--json", "--pool",
                             "--test", "test_prices").stdout)  # fmt: skip
    [entry] = pooled["decisions"]
    assert entry["flips"] > 0 and pooled["groups"]["count"] == 1


def test_the_same_input_deciding_differently_is_unstable(db: str) -> None:
    done = xray("stability", "--db", db, "--fail-unstable")
    assert done.returncode == 1, done.stderr
    assert "test_pricing.py::test_flaky_on_one_input :: pricing" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("1 of ") and " decision(s) unstable over 1 run(s), " in last
    assert " input group(s) of 1-4 trace(s)" in last, last
    flaky = json.loads(xray("stability", "--db", db, "--json", "--test", "flaky").stdout)
    [entry] = flaky["decisions"]
    assert (entry["observations"], entry["flips"], entry["group"]) == (4, 3, "")
