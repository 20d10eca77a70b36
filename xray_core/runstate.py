"""How a run of the history ended, in words, and whether a ``running`` run still goes.

``pytest --xray-db`` writes a run's row when its session starts (status ``running``) and updates
it when the session ends (``completed``, ``interrupted`` or ``failed``). A session that was
killed (SIGKILL, the OOM killer, a CI timeout) never ends: its row stays ``running``. The row
keeps the host name and process id of the session, so a ``running`` run whose process is gone
from this machine is shown as ``unfinished``; a run recorded on another machine (or on Windows)
cannot be checked and is shown as ``running``.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Literal

from .models import Run, RunStatus

#: what a person is shown: the stored status, or ``unfinished`` for a killed session's run
ShownStatus = Literal[RunStatus, "unfinished"]


def this_process() -> tuple[str, int]:
    """(host name, process id) of the running process, as kept in a run's row."""
    return socket.gethostname(), os.getpid()


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """Whether process ``pid`` of ``host`` still exists; None when it cannot be known here.

    A process id can be reused by a later process: then a dead run looks alive (``running``),
    never the other way round.
    """
    if host is None or pid is None or host != socket.gethostname() or sys.platform == "win32":
        return None  # on Windows os.kill(pid, 0) would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    except (OSError, OverflowError):
        return None
    return True


def shown_status(run: Run) -> ShownStatus:
    """The run's status, ``unfinished`` when it is ``running`` but its process is gone."""
    if run.status == "running" and process_alive(run.host, run.pid) is False:
        return "unfinished"
    return run.status


def status_phrase(run: Run) -> str:
    """How the run ended, as the end of a sentence about it (``was interrupted``)."""
    phrases: dict[ShownStatus, str] = {
        "completed": "completed",
        "interrupted": "was interrupted (not every test ran)",
        "failed": "failed (pytest stopped on an internal error)",
        "running": "is still running (or was killed on another machine)",
        "unfinished": "did not finish (its process was killed before the end)",
    }
    return phrases[shown_status(run)]
