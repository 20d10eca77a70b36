"""The start of a run that ``--xray-db`` or ``--xray-report`` asks for, on the controller (or the
only process): the run row (status ``running``) and the run's keeper process.

Imported only by a session given one of those options: pytest compiles the plugin's modules
from source in every process when bytecode is not written, so a session that writes nothing
does not load this one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import XraySession


def start_run(state: XraySession) -> None:
    """At the session's start: write the run row, or leave it to the keeper (started once
    collection is done: see :func:`start_keeper`) where one is used."""
    options = state.options
    if _keeper_wanted(state):
        state.keeper_wanted = True
        return
    if options.db is None:
        return
    from .history import build_run
    from .writer import RunWriter

    state.writer = RunWriter.open(options.db, state.run_id)
    if options.run_id is not None:
        from .shards import refuse_stored_run_id

        refuse_stored_run_id(state.writer, options)
    state.writer.start(build_run(state, "running"))


def start_keeper(state: XraySession) -> None:
    """Start the run's keeper and write the run row through it (status ``running``); when it
    cannot start, write the run here (see :mod:`pytest_xray.writer`).

    Started after collection, not with the session: on this project's 2-vCPU machine, a
    keeper starting (0.17 s of imports) beside the collection slowed it by 0.2 s, which the
    tests' gain did not make up for; started after it, the keeper pays off (see
    docs/performance.md, "Session 13" under the plugin suite)."""
    from .history import build_run
    from .keeper import Keeper

    options = state.options
    state.keeper = Keeper.spawn(options.db, options.report, state.run_id, state.config.rootpath)
    if options.db is None:
        return
    if state.keeper is not None:
        state.keeper.start(build_run(state, "running"))
        return
    from .writer import RunWriter

    state.writer = RunWriter.open(options.db, state.run_id)
    state.writer.start(build_run(state, "running"))


def _keeper_wanted(state: XraySession) -> bool:
    """Whether a keeper process writes the run: asked for (``xray_keeper``), a second core
    to run it on, a POSIX system (its pipe is written without blocking), and neither a run
    id to check in the database first (``--xray-run-id``) nor pytest-xdist's workers (which
    write their own tests; the controller has little to do)."""
    options = state.options
    if not options.keeper or options.run_id is not None or os.name != "posix":
        return False
    if state.config.pluginmanager.has_plugin("dsession"):  # pytest-xdist distributes
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cpus or 1) > 1
