"""The self-contained HTML report: ``write_report(path, data)`` / ``render_report(data)``.

::

    from xray_core.report import ReportData, write_report

    write_report("report/xray.html", ReportData(title="nightly", traces=traces))
"""

from __future__ import annotations

from .data import Panel, ReportData, TestResult
from .render import render_report, write_report

__all__ = ["Panel", "ReportData", "TestResult", "render_report", "write_report"]
