"""The real ``xray serve`` in a subprocess on a free localhost port, and the histories it serves."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from xray_core import Run

from .histories import record_history

if os.environ.get("CI"):  # in CI the `test` extra is installed: a missing part is an error
    import fastapi  # noqa: F401
    import httpx
else:
    httpx = pytest.importorskip("httpx", reason="the `test` extra installs httpx")
    pytest.importorskip("fastapi", reason="the `test` extra installs the serve extra (fastapi)")

STARTUP_S = 60.0


@dataclass
class Served:
    """A running ``xray serve`` process and its address."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)  #: what it printed on stdout at start
    #: one client for every request (each new client would build an SSL context: slow)
    client: Any = field(default_factory=lambda: httpx.Client(timeout=60))

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Any:
        """``GET`` a path of the server (an ``httpx.Response``)."""
        return self.client.get(self.url + path.lstrip("/"), params=params, **kwargs)

    def json(self, path: str, params: Any = None) -> Any:
        """The JSON of a ``GET`` that must succeed."""
        response = self.get(path, params)
        assert response.status_code == 200, (path, params, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        return response.json()

    def stop(self) -> tuple[int, str]:
        """Ctrl+C, as a person stops it: (exit status, what it wrote on stderr)."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


def start_server(db: Path, *options: str, cwd: Path | None = None) -> Served:
    """Start ``xray serve --db DB --port 0 OPTIONS`` and wait for the address it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "xray_core.cli", "serve", "--db", str(db), "--port", "0",
         *options], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=STARTUP_S)
        except queue.Empty:
            process.kill()
            raise AssertionError(f"xray serve printed no address in {STARTUP_S} s: {seen}")
        seen.append(line)
        found = re.search(r"http://\S+/", line)
        if found:
            return Served(process, found.group(0), seen)


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Run]]:
    """Six runs at six commits (B02 flips at the fourth), with hostile names in the last."""
    db = tmp_path_factory.mktemp("served") / ".xray" / "runs.db"
    runs = record_history(db, 5)
    from .histories import record_run

    runs.append(record_run(db, 5, hostile=True))
    return db, runs


@pytest.fixture(scope="module")
def server(history_db: tuple[Path, list[Run]]) -> Iterator[Served]:
    """The real server on ``history_db``, for a whole test module."""
    served = start_server(history_db[0])
    yield served
    status, err = served.stop()
    assert status == 0, err
    assert "Traceback" not in err, err
