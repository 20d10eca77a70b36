"""Export and import runs as JSON lines, to move run history between machines.

A file holds one header line, then for each run: its run record (with how many test rows and
traces follow, so a file cut short is detected), its per-test rows and its traces (each with its
steps)::

    {"format": "xray-runs", "version": 1}
    {"type": "run", "run": {"run_id": "...", "started_at": "...", ...}, "tests": 2, "traces": 5}
    {"type": "test", "run_id": "...", "test_id": "tests/test_a.py::test_x", "outcome": ...}
    {"type": "trace", "trace": {"trace_id": "...", "run_id": "...", "steps": [...], ...}}

Import keeps every id and only adds: a run, trace or test row already in the database is left as
it is, so importing the same file twice adds nothing, and a trace (or step) id that belongs to
another run (or trace) is refused rather than moved. A file is read and checked completely before
anything is written: a malformed line names the file and line number, and nothing of that file
is imported. Everything one ``xray import`` adds is written in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import ValidationError

from .exceptions import XRayError
from .models import Run, Trace
from .runref import id_problem
from .serialize import loads_json
from .shards import merge_runs, same_session, shard_problem
from .store.base import RUN_TEST_COLUMNS, Store
from .store.sqlite import SQLiteStore

FORMAT = "xray-runs"
FORMAT_VERSION = 1
#: the deepest nesting a line may have: values the recorder keeps are at most 50 levels deep
#: (serialize.MAX_DEPTH), and pydantic cannot dump a trace much deeper than 250 levels, so a
#: deeper line could be imported but never shown or exported again
MAX_NESTING = 200
_SHOWN = 80  # characters of an id quoted in a message

#: how an imported run relates to the stored run of its id (see :meth:`Importer._relation`)
Relation = Literal["new", "same", "merged-already", "shard"]


class ExportFormatError(XRayError):
    """A JSON-lines file is not a valid X-Ray export (the message names file and line)."""


class ImportConflictError(XRayError):
    """An imported id already belongs to another run (or trace): importing would move it."""


@dataclass
class RunBundle:
    """One run with everything exported about it."""

    run: Run
    tests: list[dict[str, Any]] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did: runs added, runs already present, shards merged, and the rows written.

    Rows already stored are never changed (but for the record of a run a shard is merged into):
    ``kept`` counts those the file holds differently (the stored version was kept).
    """

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    #: runs already stored that a shard of this import was merged into (see xray_core.shards)
    merged: list[str] = field(default_factory=list)
    traces: int = 0
    tests: int = 0
    kept: int = 0

    @property
    def nothing_added(self) -> bool:
        """Whether the import wrote nothing (every run, trace and test row was already there)."""
        return not self.added and not self.merged and self.traces == 0 and self.tests == 0


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
        self.step_ids: set[str] = set()
        #: run id -> (line number, test rows and traces its run line announces)
        self.announced: dict[str, tuple[int, Any, Any]] = {}

    def fail(self, number: int, message: str) -> ExportFormatError:
        return ExportFormatError(f"{self.path}:{number}: {message}; nothing was imported from it")

    def feed(self, number: int, line: str) -> None:
        try:
            data = loads_json(line)  # lone surrogates (\udcxx escapes) become X-Ray's text
        except json.JSONDecodeError as exc:
            raise self.fail(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            data = None
        if data is None or _nesting(data) > MAX_NESTING:
            raise self.fail(number, f"nested too deeply (X-Ray reads at most {MAX_NESTING} "
                                    "levels)")  # fmt: skip
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
        if type(version) is not int or not 1 <= version <= FORMAT_VERSION:  # not True, not 1.0
            raise self.fail(number, f"format version {version!r} is not supported (this xray "
                                    f"reads {FORMAT_VERSION}); upgrade decisiontracex")  # fmt: skip
        self.header = True

    def read_run(self, number: int, data: dict[str, Any]) -> None:
        run = Run.model_validate(data.get("run"))
        self.check_id(number, "run id", run.run_id)
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
        self.check_id(number, "test id", data["test_id"])
        bundle.tests.append({k: data.get(k) for k in RUN_TEST_COLUMNS})

    def read_trace(self, number: int, data: dict[str, Any]) -> None:
        trace = Trace.model_validate(data.get("trace"))
        self.check_id(number, "trace id", trace.trace_id)
        bundle = self.owner(number, trace.run_id, f"trace {_shown(trace.trace_id)}")
        if trace.trace_id in self.trace_ids:
            raise self.fail(number, f"trace {_shown(trace.trace_id)} appears twice")
        if trace.test_id is not None:
            self.check_id(number, "test id", trace.test_id, empty_ok=True)
        for step in trace.steps:
            if step.trace_id != trace.trace_id:
                raise self.fail(number, f"trace {_shown(trace.trace_id)} holds a step of another "
                                        "trace")  # fmt: skip
            self.check_id(number, "step id", step.step_id)
            if step.step_id in self.step_ids:
                raise self.fail(number, f"step {_shown(step.step_id)} appears twice")
            self.step_ids.add(step.step_id)
        self.trace_ids.add(trace.trace_id)
        bundle.traces.append(trace)

    def check_id(self, number: int, what: str, value: str, *, empty_ok: bool = False) -> None:
        """Ids are names people type and look up: not empty, no NUL, not too long to search."""
        if not value and not empty_ok:
            raise self.fail(number, f"empty {what}")
        problem = id_problem(value)
        if problem is not None:
            raise self.fail(number, f"{what} {_shown(value)} {problem}")

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


def _shown(value: str) -> str:
    """An id quoted in a message, cut to a readable length."""
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


def _nesting(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0); stops past the limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "value"
    extra = f" ({exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{extra}"


def import_bundles(store: SQLiteStore, bundles: Iterable[RunBundle]) -> ImportResult:
    """Add ``bundles`` to ``store`` in one transaction, keeping ids (see :class:`Importer`).

    :raises ImportConflictError: an id belongs to another run; nothing is written.
    """
    with store.transaction():
        return Importer(store).add(bundles)


class Importer:
    """Adds runs to a store, keeping their ids, without ever changing what is stored.

    - a run not in the store is added with its test rows and traces;
    - a run already there keeps its record; its missing test rows and traces are added, and rows
      stored differently from the file are kept as stored (counted in ``kept``);
    - a run of the same id recorded by another pytest session is a CI shard of it (the sessions
      were given one ``--xray-run-id``): its test rows and traces are added and its record is
      merged into the stored one (:func:`xray_core.shards.merge_runs`); a session that cannot
      be a shard of the stored run (another commit, a test the run holds already) is refused.
      A shard imported again adds nothing;
    - a trace id that belongs to another run in the store (or to another run added by this
      import), a step id that belongs to another trace: refused, since writing it would move it.

    Writes go through the store; call :meth:`add` inside ``store.transaction()`` so that a
    refused file leaves the store as it was (several files can be added in one transaction).
    """

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        # what earlier calls of this import added (not yet visible to the store's reads)
        self._runs: dict[str, RunBundle] = {}
        self._traces: dict[str, tuple[str, Trace]] = {}
        self._steps: dict[str, str] = {}

    def add(self, bundles: Iterable[RunBundle], source: Path | str | None = None) -> ImportResult:
        """Check ``bundles`` against the store, then queue what is missing.

        :param source: the file the bundles come from, named in a refusal.
        :raises ImportConflictError: an id already belongs to another run or trace.
        """
        bundles = list(bundles)
        where = f"{source}: " if source is not None else ""
        for bundle in bundles:
            self._check(bundle, where)
        result = ImportResult()
        for bundle in bundles:
            self._add(bundle, result)
        return result

    def _check(self, bundle: RunBundle, where: str) -> None:
        run_id = bundle.run.run_id
        ids = [t.trace_id for t in bundle.traces]
        owners = {**self.store.trace_owners(ids),
                  **{i: self._traces[i][0] for i in ids if i in self._traces}}  # fmt: skip
        for trace_id, owner in owners.items():
            if owner != run_id:
                held = "outside any run" if owner is None else f"in run {_shown(owner)}"
                raise ImportConflictError(
                    f"{where}trace {_shown(trace_id)} is already {held} in {self.store.path}, "
                    f"not in run {_shown(run_id)}: importing it would move it; nothing was "
                    "imported"
                )  # fmt: skip
        if self._relation(bundle) == "shard":
            stored_run = self._stored_run(run_id)
            assert stored_run is not None  # a shard has a stored run
            problem = shard_problem(stored_run, bundle.run,
                                    [t["test_id"] for t in self._stored_tests(run_id)],
                                    [t["test_id"] for t in bundle.tests])  # fmt: skip
            if problem is not None:
                raise ImportConflictError(
                    f"{where}run {_shown(run_id)} is already in {self.store.path}, recorded by "
                    f"another pytest session, and this session cannot be a shard of it: "
                    f"{problem}; nothing was imported"
                )
        new_steps = [s.step_id for t in bundle.traces if t.trace_id not in owners for s in t.steps]
        stored = {**self.store.step_owners(new_steps),
                  **{i: self._steps[i] for i in new_steps if i in self._steps}}  # fmt: skip
        for step_id, trace_id in stored.items():
            raise ImportConflictError(
                f"{where}step {_shown(step_id)} already belongs to trace {_shown(trace_id)} in "
                f"{self.store.path}: importing it would move it; nothing was imported"
            )

    def _stored_run(self, run_id: str) -> Run | None:
        return self._runs[run_id].run if run_id in self._runs else self.store.get_run(run_id)

    def _relation(self, bundle: RunBundle) -> Relation:
        """``new``: no stored run of its id; ``same``: the stored run is of the same session
        (maybe exported at another moment); ``merged-already``: a shard whose every test row
        and trace is stored (imported before); ``shard``: another session's run to merge.
        """
        stored = self._stored_run(bundle.run.run_id)
        if stored is None:
            return "new"
        if stored == bundle.run or same_session(stored, bundle.run):
            return "same"
        tests = {t["test_id"] for t in self._stored_tests(bundle.run.run_id)}
        held = all(t["test_id"] in tests for t in bundle.tests) and all(
            self._stored_trace(t.trace_id) is not None for t in bundle.traces)  # fmt: skip
        # an empty shard (no test, no trace) is merged again: that changes nothing
        if held and (bundle.tests or bundle.traces):
            return "merged-already"
        return "shard"

    def _add(self, bundle: RunBundle, result: ImportResult) -> None:
        run = bundle.run
        relation = self._relation(bundle)
        stored_run = self._stored_run(run.run_id)
        new_traces = []
        for trace in bundle.traces:
            stored = self._stored_trace(trace.trace_id)
            if stored is None:
                new_traces.append(trace)
            elif stored != trace:
                result.kept += 1
        stored_tests = {row["test_id"]: row for row in self._stored_tests(run.run_id)}
        new_tests = [t for t in bundle.tests if t["test_id"] not in stored_tests]
        result.kept += sum(1 for t in bundle.tests if stored_tests.get(t["test_id"], t) != t)
        self.store.save_traces(new_traces)
        if stored_run is None:
            result.added.append(run.run_id)
            self.store.save_run(run, new_tests)
        elif relation == "shard" and (
            new_tests or new_traces or merge_runs(stored_run, run) != stored_run
        ):
            stored_run = merge_runs(stored_run, run)
            result.merged.append(run.run_id)
            self.store.save_run(stored_run, new_tests)
        elif relation in ("shard", "merged-already"):  # an empty shard merged before: the same
            result.present.append(run.run_id)
        else:
            result.present.append(run.run_id)
            result.kept += stored_run != run
            if new_tests:  # the stored record, rewritten as it is, with the missing test rows
                self.store.save_run(stored_run, new_tests)
        result.traces += len(new_traces)
        result.tests += len(new_tests)
        self._remember(RunBundle(stored_run or run, new_tests, new_traces))

    def _stored_trace(self, trace_id: str) -> Trace | None:
        if trace_id in self._traces:
            return self._traces[trace_id][1]
        return self.store.get_trace(trace_id)

    def _stored_tests(self, run_id: str) -> list[dict[str, Any]]:
        added = self._runs[run_id].tests if run_id in self._runs else []
        return [*self.store.run_tests(run_id), *added]

    def _remember(self, added: RunBundle) -> None:
        previous = self._runs.setdefault(added.run.run_id, RunBundle(added.run))
        previous.run = added.run  # a merged shard changed the record
        previous.tests.extend({k: t.get(k) for k in RUN_TEST_COLUMNS} for t in added.tests)
        for trace in added.traces:
            self._traces[trace.trace_id] = (added.run.run_id, trace)
            self._steps.update((s.step_id, trace.trace_id) for s in trace.steps)

