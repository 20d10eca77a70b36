"""Export and import runs as JSON lines, to move run history between machines.

A file holds one header line, then for each run: its run record (with how many test rows and
traces follow, so a file cut short is detected), its per-test rows and its traces (each with its
steps)::

    {"format": "xray-runs", "version": 1}
    {"type": "run", "run": {"run_id": "...", "started_at": "...", ...}, "tests": 2, "traces": 5}
    {"type": "test", "run_id": "...", "test_id": "tests/test_a.py::test_x", "outcome": ...}
    {"type": "trace", "trace": {"trace_id": "...", "run_id": "...", "steps": [...], ...}}

Import keeps every id, so importing the same file twice adds nothing. A file is read and checked
completely before anything is written: a malformed line names the file and line number, and
nothing of that file is imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from .exceptions import XRayError
from .models import Run, Trace
from .serialize import loads_json
from .store.base import RUN_TEST_COLUMNS, Store

FORMAT = "xray-runs"
FORMAT_VERSION = 1



class ExportFormatError(XRayError):
    """A JSON-lines file is not a valid X-Ray export (the message names file and line)."""


@dataclass
class RunBundle:
    """One run with everything exported about it."""

    run: Run
    tests: list[dict[str, Any]] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did: runs newly added, runs already present (re-written unchanged)."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    traces: int = 0


# -- export -------------------------------------------------------------------------------------
def bundle_run(store: Store, run: Run) -> RunBundle:
    """Everything the store keeps about ``run``."""
    return RunBundle(run, store.run_tests(run.run_id), store.list_traces(None, run_id=run.run_id))


def export_lines(bundles: Iterable[RunBundle]) -> Iterable[str]:
    """The lines of an export file (without newlines), header first."""
    yield json.dumps({"format": FORMAT, "version": FORMAT_VERSION})
    for bundle in bundles:
        yield json.dumps({"type": "run", "run": bundle.run.model_dump(mode="json"),
                          "tests": len(bundle.tests), "traces": len(bundle.traces)})  # fmt: skip
        for test in bundle.tests:
            row = {k: test.get(k) for k in RUN_TEST_COLUMNS}
            yield json.dumps({"type": "test", "run_id": bundle.run.run_id, **row})
        for trace in bundle.traces:
            yield json.dumps({"type": "trace", "trace": trace.model_dump(mode="json")},
                             ensure_ascii=False)  # fmt: skip


def write_export(out: IO[str], bundles: Iterable[RunBundle]) -> int:
    """Write the export of ``bundles`` to ``out``; returns the number of lines written."""
    count = 0
    for line in export_lines(bundles):
        out.write(line + "\n")
        count += 1
    return count


# -- import -------------------------------------------------------------------------------------
def read_export(path: Path) -> list[RunBundle]:
    """Parse and check a whole export file.

    :raises ExportFormatError: naming ``path`` and the line number of the first problem.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            lines = list(handle)
    except OSError as exc:
        raise ExportFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ExportFormatError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    reader = _Reader(path)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            reader.feed(number, line)
    return reader.finish()


class _Reader:
    """Checks lines one by one, grouping them into run bundles."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = False
        self.bundles: dict[str, RunBundle] = {}
        self.trace_ids: set[str] = set()
        #: run id -> (line number, test rows and traces its run line announces)
        self.announced: dict[str, tuple[int, Any, Any]] = {}

    def fail(self, number: int, message: str) -> ExportFormatError:
        return ExportFormatError(f"{self.path}:{number}: {message}; nothing was imported from it")

    def feed(self, number: int, line: str) -> None:
        try:
            data = loads_json(line)  # lone surrogates (\udcxx escapes) become X-Ray's text
        except json.JSONDecodeError as exc:
            raise self.fail(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise self.fail(number, f"expected a JSON object, got {type(data).__name__}")
        if not self.header:
            self.read_header(number, data)
            return
        kind = data.get("type")
        handler = {"run": self.read_run, "test": self.read_test, "trace": self.read_trace}.get(
            kind if isinstance(kind, str) else ""
        )
        if handler is None:
            raise self.fail(number, f'unknown line type {kind!r} (expected "run", "test", "trace")')
        try:
            handler(number, data)
        except ValidationError as exc:
            raise self.fail(number, f"invalid {kind}: {_first_error(exc)}") from None

    def read_header(self, number: int, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise self.fail(number, f'not an X-Ray export (the first line must be {{"format": '
                                    f'"{FORMAT}", "version": {FORMAT_VERSION}}})')  # fmt: skip
        version = data.get("version")
        if not isinstance(version, int) or version < 1 or version > FORMAT_VERSION:
            raise self.fail(number, f"format version {version!r} is not supported (this xray "
                                    f"reads {FORMAT_VERSION}); upgrade decisiontracex")  # fmt: skip
        self.header = True

    def read_run(self, number: int, data: dict[str, Any]) -> None:
        run = Run.model_validate(data.get("run"))
        if run.run_id in self.bundles:
            raise self.fail(number, f"run {run.run_id!r} appears twice")
        self.bundles[run.run_id] = RunBundle(run)
        self.announced[run.run_id] = (number, data.get("tests"), data.get("traces"))

    def owner(self, number: int, run_id: Any, what: str) -> RunBundle:
        bundle = self.bundles.get(run_id) if isinstance(run_id, str) else None
        if bundle is None:
            raise self.fail(number, f"{what} belongs to run {run_id!r}, which no earlier line "
                                    "defines")  # fmt: skip
        return bundle

    def read_test(self, number: int, data: dict[str, Any]) -> None:
        bundle = self.owner(number, data.get("run_id"), "test row")
        if not isinstance(data.get("test_id"), str) or not data["test_id"]:
            raise self.fail(number, "test row has no test_id")
        bundle.tests.append({k: data.get(k) for k in RUN_TEST_COLUMNS})

    def read_trace(self, number: int, data: dict[str, Any]) -> None:
        trace = Trace.model_validate(data.get("trace"))
        bundle = self.owner(number, trace.run_id, f"trace {trace.trace_id!r}")
        if trace.trace_id in self.trace_ids:
            raise self.fail(number, f"trace {trace.trace_id!r} appears twice")
        if any(step.trace_id != trace.trace_id for step in trace.steps):
            raise self.fail(number, f"trace {trace.trace_id!r} holds a step of another trace")
        self.trace_ids.add(trace.trace_id)
        bundle.traces.append(trace)

    def finish(self) -> list[RunBundle]:
        if not self.header:
            raise ExportFormatError(f"{self.path}: empty file, not an X-Ray export")
        for run_id, (number, tests, traces) in self.announced.items():
            held = len(self.bundles[run_id].tests), len(self.bundles[run_id].traces)
            if None not in (tests, traces) and (tests, traces) != held:  # older files: no counts
                raise self.fail(number, f"run {run_id!r} announces {tests} test row(s) and "
                                        f"{traces} trace(s), the file holds {held[0]} and "
                                        f"{held[1]}: it is incomplete")  # fmt: skip
        return list(self.bundles.values())


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "value"
    extra = f" ({exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{extra}"


def import_bundles(store: Store, bundles: Iterable[RunBundle]) -> ImportResult:
    """Write ``bundles`` into ``store``, keeping ids.

    Traces are written before their run row, so a run present in the store is complete.
    """
    result = ImportResult()
    for bundle in bundles:
        existed = store.get_run(bundle.run.run_id) is not None
        result.traces += store.save_traces(bundle.traces)
        store.save_run(bundle.run, bundle.tests)
        (result.present if existed else result.added).append(bundle.run.run_id)
    return result
