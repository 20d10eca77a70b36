"""``--xray-run-id``: the run id CI shards share, so that ``xray import`` makes them one run.

Each shard writes its own database; a shared id already in the database this session writes
belongs to another session, whose run row this one would overwrite: refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .options import Options
    from .writer import RunWriter


def refuse_stored_run_id(writer: RunWriter, options: Options) -> None:
    """Raise a usage error when run ``options.run_id`` is already in ``writer``'s database."""
    store = writer.store
    if store is None or options.run_id is None:
        return
    try:
        stored = store.get_run(options.run_id)
    except Exception:  # noqa: BLE001 - the writer reports an unreadable database itself
        return
    if stored is None:
        return
    writer.close()
    raise pytest.UsageError(
        f"--xray-run-id / XRAY_RUN_ID: run {options.run_id!r} is already in {options.db} (started "
        f"{stored.started_at:%Y-%m-%d %H:%M:%S} UTC): each CI shard writes its own database "
        "and `xray import` merges them; give each CI build (and each re-run) a new id"
    )
