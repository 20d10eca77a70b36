"""The ``xray`` subcommands, one module each; every module has ``register(subparsers)``."""

from __future__ import annotations

from . import diff, history, prune, report, runs, serve, show, stability, traces, transfer

#: in the order ``xray --help`` lists them
COMMANDS = (runs, traces, show, diff, history, report, stability, serve, transfer, prune)

__all__ = ["COMMANDS"]
