"""The baseline package stands alone: no import cycle with the session, no heavy imports."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

from xray_core.outcomes import (
    FAILING_VERDICTS,
    VERDICT_ORDER,
    BaselineVerdict,
    TestOutcome,
    known_outcome,
    known_verdict,
)

IMPORT_ALONE = """
import sys
import pytest_xray.baseline
loaded = sorted(m for m in ("pytest_xray.session", "pytest_xray.fixture", "pydantic")
                if m in sys.modules)
print("loaded:", loaded)
"""


def test_importing_baselines_needs_neither_the_session_nor_pydantic() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_ALONE], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "loaded: []"


def test_the_verdict_order_names_every_verdict_once() -> None:
    assert sorted(VERDICT_ORDER) == sorted(get_args(BaselineVerdict))
    assert FAILING_VERDICTS < set(VERDICT_ORDER)


def test_stored_words_outside_the_sets_are_not_taken_for_them() -> None:
    assert [known_outcome(o) for o in get_args(TestOutcome)] == list(get_args(TestOutcome))
    assert known_outcome(None) == known_outcome("PASSED") == "unknown"
    assert known_verdict("written") == "written"
    assert known_verdict("nope") is None
