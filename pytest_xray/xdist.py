"""pytest-xdist: the controller hands its run id to workers and merges what they captured.

Registered only when pytest-xdist is loaded, on the controller. Workers put their state in
``config.workeroutput`` (see :meth:`XraySession.worker_payload`) at the end of their session;
:func:`merge_worker` adds it to the controller's.
With ``--xray-db`` each worker writes its own tests into the run as they finish (see
:mod:`pytest_xray.writer`); the payload's traces serve the report and the summary only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .captured import Captured
from .constants import DB_INPUT_KEY, RUN_ID_INPUT_KEY, WORKER_OUTPUT_KEY

if TYPE_CHECKING:
    from .session import XraySession


class XdistController:
    """The controller side of the transport."""

    def __init__(self, session: XraySession) -> None:
        self.session = session

    def pytest_configure_node(self, node: Any) -> None:
        """Give each worker this run's id, so its traces carry it, and let it write its tests
        to ``--xray-db`` when the run row is there.
        """
        session = self.session
        session.distributed = True
        node.workerinput[RUN_ID_INPUT_KEY] = session.run_id
        node.workerinput[DB_INPUT_KEY] = session.writer is not None and session.writer.started

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Remember which tests will run: the unused-baseline rule needs to know all of them ran."""
        self.session.collected.selected_by_worker(ids)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Merge a finished worker's traces, baseline verdicts and collection."""
        payload = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if payload:
            merge_worker(self.session, payload)
        else:  # the worker crashed: what its tests captured and checked is gone
            gateway = getattr(node, "gateway", None)
            self.session.lost_workers.append(str(getattr(gateway, "id", "?")))


def merge_worker(state: XraySession, payload: str) -> None:
    """Add what a pytest-xdist worker captured (see :meth:`XraySession.worker_payload`)."""
    data = json.loads(payload)  # "{}" from a worker that had nothing to hand over
    for record, steps in data.get("traces", ()):
        record["run_id"] = state.run_id
        captured = Captured(record, steps, own=False)
        state.traces.append(captured)
        if captured.test_id is not None:
            state.by_test.setdefault(captured.test_id, []).append(captured)
    if data.get("baselines"):  # a session that checked no baseline does not import the checker
        from .baseline.check import BaselineResult

        for nodeid, results in data["baselines"].items():
            for result in results:
                state.record_baseline(nodeid, BaselineResult(**result))
    state.collected.merge(data.get("collected", {}))
    for error, where in data.get("hook_errors", {}).items():
        state.hook_errors.setdefault(error, where)
    if data.get("db_error"):
        state.worker_db_errors.setdefault(data["db_error"], None)
