"""The ``xray`` command: run history, decision diffs across commits, reports, export/import.

Results go to stdout; every error is one line on stderr. Exit status: 0 success, 1 the runs
differ (``xray diff``) or decisions are unstable (``xray stability --fail-unstable``), 2 the
command could not do its job (bad option, missing or foreign database, unknown run, malformed
or refused import file, a full disk; an unexpected error too, reported as an internal error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console

from . import __version__
from .commands import COMMANDS
from .commands.common import CommandSet, Context, file_path
from .exceptions import XRayError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with a pointer to ``--help``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``xray`` argument parser with every subcommand."""
    parser = _Parser(
        prog="xray",
        description="Explore X-Ray run history: runs, traces, decision diffs across commits, "
                    "HTML reports, stability, export/import, retention.",
        epilog="Exit status: 0 ok, 1 runs differ (diff) or unstable (stability "
               "--fail-unstable), 2 error (the message says which).",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--db", type=file_path, metavar="PATH",
                        help="the run database (default: .xray/runs.db here or in a parent "
                             "folder)")  # fmt: skip
    common.add_argument("--json", action="store_true", dest="as_json",
                        help="machine-readable JSON output, where the command has one")  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    commands = CommandSet(subparsers, [common])
    for command in COMMANDS:
        command.register(commands)
    return parser


def _console() -> Console:
    # Off a terminal (pipes, CI logs) tables get 120 columns unless COLUMNS says otherwise.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 120)
    return Console(width=width, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xray`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.as_json and not args.json_ok:
        parser.error(f"`xray {args.command}` has no --json output")
    ctx = Context(db=args.db, console=_console(), as_json=args.as_json)
    try:
        return int(args.handler(args, ctx))
    except XRayError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except BrokenPipeError:
        # The reader went away (`xray runs | head`): not an error; silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        # 2 as well: a script only needs to know the command could not do its job
        return _fail(EXIT_USAGE, f"internal error: {type(exc).__name__}: {exc} "
                                 "(please report it with the command line)")  # fmt: skip


def _fail(status: int, message: str) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    sys.stderr.write(f"xray: error: {first}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
