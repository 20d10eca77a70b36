"""The one line that says why a test failed, read from the failure text pytest reported.

Both producers of the report see the same text — ``pytest --xray-report`` has the test report's
``longreprtext``, ``xray report`` the copy the run history keeps (``run_tests.message``) — so
both show the same line. The rule (documented in docs/report.md, "Needs attention"):

1. Of chained exceptions ("The above exception was the direct cause of the following
   exception:", "During handling of the above exception, another exception occurred:") only
   the last one counts: it is the one pytest reports as the failure.
2. The first line pytest marks with ``E`` (its error lines, in every ``--tb`` style but
   ``native``), without the marker and the indent: ``AssertionError: B0X was qualified ...``,
   ``fixture 'db' not found``.
3. Otherwise, in a Python traceback (``--tb=native``): the exception line after the frames.
4. Otherwise (``pytest.fail(..., pytrace=False)``, a plugin's own failure text): the first
   non-empty line.

The line is stripped and cut to :data:`MAX_LINE` characters (ending in ``…``); the full text
stays in the test's detail.
"""

from __future__ import annotations

import re

#: longest line kept, in characters (the report's landing page shows one per failing test)
MAX_LINE = 240

_CHAINED = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_ERROR_LINE = re.compile(r"E(?:\s|$)")
_TRACEBACK = "Traceback (most recent call last):"


def first_failure_line(message: str | None) -> str | None:
    """The line of ``message`` (a test's failure text) that says what went wrong, or None.

    None when ``message`` is None or holds no visible text. See the module's docstring for
    the rule.
    """
    if not message:
        return None
    lines = _last_exception(message.splitlines())
    found = (
        _marked(lines)
        or _exception_line(lines)
        or next((line.strip() for line in lines if line.strip()), None)
    )
    if found is None:
        return None
    return found if len(found) <= MAX_LINE else found[: MAX_LINE - 1].rstrip() + "…"


def _last_exception(lines: list[str]) -> list[str]:
    """The lines after the last "above exception" separator (all of them when there is none)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip() in _CHAINED:
            return lines[index + 1 :]
    return lines


def _marked(lines: list[str]) -> str | None:
    """The first non-empty line pytest marked as an error line (``E   ...``), unmarked."""
    for line in lines:
        if _ERROR_LINE.match(line) and line[1:].strip():
            return line[1:].strip()
    return None


def _exception_line(lines: list[str]) -> str | None:
    """In a Python traceback, the first unindented line after the frames of its last part."""
    starts = [i for i, line in enumerate(lines) if line.strip() == _TRACEBACK]
    if not starts:
        return None
    for line in lines[starts[-1] + 1 :]:
        if line.strip() and not line[0].isspace():
            return line.strip()
    return None
