"""Listening: bind the socket, say where, run the application on uvicorn until interrupted."""

from __future__ import annotations

import errno
import gc
import ipaddress
import socket
import sys
from pathlib import Path
from typing import IO

import uvicorn

from ..exceptions import XRayError
from .app import LOOPBACK_NAMES, create_app


class ListenError(XRayError):
    """The server cannot listen where it was asked (port taken, unknown host)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM)[0]  # fmt: skip
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(f"--host {host!r}: not an address of this machine ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = {errno.EADDRINUSE: " (choose another with --port)",
                errno.EACCES: " (choose another with --port)",
                errno.EADDRNOTAVAIL: " (not an address of this machine: see --host)"}  # fmt: skip
        raise ListenError(f"cannot listen on {host} port {port}: {exc.strerror or exc}"
                          + hint.get(exc.errno or 0, "")) from None  # fmt: skip
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The address a browser opens for a listening socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(path: Path, host: str, port: int, out: IO[str] = sys.stdout) -> None:
    """Serve the database at ``path`` on ``host``:``port`` until interrupted (Ctrl+C)."""
    sock = bind(host, port)  # first: a port in use is said before anything is opened
    # bound to this machine only, the server answers requests naming this machine only
    allowed = [*LOOPBACK_NAMES, host.strip("[]")] if is_loopback(host) else ["*"]
    try:
        app = create_app(path, allowed_hosts=allowed)
    except BaseException:
        sock.close()
        raise
    url = url_of(sock)
    if host in ("0.0.0.0", "::"):
        url += f" (every address of this machine, port {sock.getsockname()[1]})"
    out.write(f"xray serve: {path} (read-only) at {url}\n")
    if not is_loopback(host):
        sys.stderr.write(
            f"xray: warning: serving on {host}: anyone who can reach this port reads every "
            "trace of the database (inputs, outputs, reasoning, failure messages)\n"
        )
    out.write("Press Ctrl+C to stop.\n")
    out.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    config.load()  # uvicorn's own imports, now rather than at the first request
    # What the process imported and built to start lives as long as it: frozen, the garbage
    # collector's full collections (a request reading thousands of rows makes one) no longer
    # scan those objects again (13 ms of an item's history over 500 runs).
    gc.freeze()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn stopped on Ctrl+C, then raised it again: stopping is how a server ends
    finally:
        sock.close()
    out.write("xray serve: stopped\n")
