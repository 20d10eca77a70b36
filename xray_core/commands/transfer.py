"""``xray export`` / ``xray import``: move runs between machines as JSON lines."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..atomic import atomic_writer
from ..jsonl import Importer, ImportResult, bundle_run, read_export, write_export
from ..runref import short_id
from .common import CommandSet, Context, UsageError, file_path, identifier, output_file, resolve


def register(commands: CommandSet) -> None:
    """Add ``xray export`` and ``xray import`` to the command line."""
    export = commands.add(
        "export", help="write runs (tests, traces, steps) to a JSON-lines file",
        description="Write runs, with their test rows and traces, to a JSON-lines file that "
                    "`xray import` reads on another machine.",
    )  # fmt: skip
    export.add_argument("runs", metavar="RUN", nargs="+", type=identifier,
                        help="run references (e.g. latest)")  # fmt: skip
    export.add_argument("-o", "--output", required=True, metavar="FILE.jsonl", type=output_file,
                        help="the file to write ('-' for stdout)")  # fmt: skip
    export.set_defaults(handler=run_export, json_ok=False)
    load = commands.add(
        "import", help="add runs from JSON-lines exports (idempotent, keeps ids)",
        description="Add the runs of JSON-lines files written by `xray export` to the database "
                    "(created when missing). Ids are kept and stored rows are never changed, so "
                    "importing twice adds nothing; a trace id that belongs to another run is "
                    "refused. CI shards (pytest sessions given one --xray-run-id) become one "
                    "run: their records are merged. Every file is checked completely first: if "
                    "one is malformed or refused, nothing is imported.",
    )  # fmt: skip
    load.add_argument("files", metavar="FILE.jsonl", nargs="+", type=file_path)
    load.set_defaults(handler=run_import, json_ok=True)


def run_export(args: argparse.Namespace, ctx: Context) -> int:
    """Write the export file."""
    with ctx.open_store() as store:
        runs = list({r.run_id: r for r in resolve(store, args.runs)}.values())
        bundles = [bundle_run(store, r) for r in runs]
    if args.output == "-":
        write_export(ctx.stdout, bundles)
        return 0
    target = Path(args.output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(target) as out:  # a reader never sees half a file
            lines = write_export(out, bundles)
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    traces = sum(len(b.traces) for b in bundles)
    ctx.say(f"exported {len(bundles)} run(s) ({', '.join(short_id(r.run_id) for r in runs)}), "
            f"{traces} trace(s), {lines} line(s) to {target}")  # fmt: skip
    return 0


def run_import(args: argparse.Namespace, ctx: Context) -> int:
    """Check every file, then import them all in one transaction."""
    parsed = [(path, read_export(path)) for path in args.files]
    with ctx.create_store() as store:
        importer = Importer(store)
        with store.transaction():  # a refused file leaves the database as it was
            results = [(path, importer.add(bundles, path)) for path, bundles in parsed]
        db = store.path
    if ctx.as_json:
        ctx.print_json({"db": str(db), "files": [
            {"file": str(p), "added": r.added, "already_present": r.present,
             "merged_shards": r.merged, "traces": r.traces,
             "tests": r.tests, "kept_as_stored": r.kept, "nothing_added": r.nothing_added}
            for p, r in results
        ]})  # fmt: skip
        return 0
    for path, result in results:
        ctx.say(f"{path}: {import_line(result)} in {db}")
    return 0


def import_line(result: ImportResult) -> str:
    """What importing one file did, in words."""
    if result.nothing_added and not result.present:
        text = "nothing added: the file holds no run"
    elif result.nothing_added:
        text = f"nothing added: its {len(result.present)} run(s) were already present"
    elif result.merged and not result.added and not result.present:
        text = (f"merged as a shard into run {', '.join(result.merged)} "
                f"({result.tests} test(s), {result.traces} trace(s) written)")  # fmt: skip
    else:
        text = (f"{len(result.added)} run(s) added, {len(result.present)} already present "
                f"({result.traces} trace(s) written)")  # fmt: skip
        if result.merged:
            text += (f"; {len(result.merged)} shard(s) merged into "
                     f"{', '.join(result.merged)}")  # fmt: skip
    if result.kept:
        text += (f"; {result.kept} stored row(s) differ from the file's and were kept as "
                 "stored")  # fmt: skip
    return text
