"""Fixtures of the report tests: a recorder and a realistic report."""

from __future__ import annotations

import pytest

from xray_core import MemoryStore, XRay
from xray_core.report import ReportData

from .recording import make_sample_data


@pytest.fixture
def xr() -> XRay:
    return XRay(store=MemoryStore())


@pytest.fixture
def sample_data(xr: XRay) -> ReportData:
    """A realistic report: passing, failing and baseline-failed traces, a test with no trace."""
    return make_sample_data(xr)
