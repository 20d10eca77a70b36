"""``xray serve``: the run history in a browser, from a local read-only server."""

from __future__ import annotations

import argparse

from ..store.schema import READ_ONLY_FROM, SCHEMA_VERSION
from .common import CommandSet, Context, UsageError, check_db

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
EXTRA = "pip install 'decisiontracex[serve]'"


def register(commands: CommandSet) -> None:
    """Add ``xray serve`` to the command line."""
    parser = commands.add(
        "serve", help="browse the run history in a browser (local read-only server)",
        description="Serve the run database, read-only, to a browser: the runs with their "
                    "status and commit, any run opened like a report, any two compared, an "
                    "item's history across commits, the stability of each decision; and the "
                    "same as a JSON API (/api/..., documented at /docs). The database may be "
                    "recorded into meanwhile: new runs appear. Needs the serve extra "
                    f"({EXTRA}).",
        epilog="Anyone who can reach the port reads every trace (inputs, outputs, reasoning, "
               "failure messages): the server listens on 127.0.0.1 only unless --host says "
               "otherwise.",
    )  # fmt: skip
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"the address to listen on (default {DEFAULT_HOST}: this machine "
                             "only; 0.0.0.0 exposes the traces to the network)")  # fmt: skip
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=f"the port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.set_defaults(handler=run, json_ok=False)


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {value}")
    return value


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Serve until interrupted (Ctrl+C); exit 0."""
    try:
        import fastapi  # noqa: F401 - the serve extra: checked before anything else
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"xray serve needs the serve extra: {EXTRA} ({exc})") from None
    path = ctx.db_path()
    if not check_db(path):
        raise UsageError(
            f"{path}: its schema is older than this X-Ray serves (versions {READ_ONLY_FROM} to "
            f"{SCHEMA_VERSION}) and serving never upgrades it; record a run with this version "
            "(pytest --xray-db) first, which upgrades it"
        )
    from ..serve.server import serve  # the web stack only for this command: keeps `xray` quick

    serve(path, args.host, args.port)
    return 0
