"""The self-contained HTML report (renderer to be filled in by the report work)."""

from __future__ import annotations

from .data import Panel, ReportData, TestResult

__all__ = ["Panel", "ReportData", "TestResult"]
