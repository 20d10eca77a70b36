"""How the recorder's records become the rows of the schema's statements.

This runs for every recorded step (on the store's writer thread), so it is written for speed:
epoch times become ISO-8601 text through a cache of the whole second's text (the recorder's
times are ``time.time()`` floats, and a burst of steps shares a handful of seconds), giving
exactly ``datetime.isoformat``'s text; JSON of plain data (the recorder's) is written by orjson
(compact, as the recorder's snapshots of inputs and outputs are), anything else by one reused C
encoder rather than a new one per value, as ``json.dumps`` builds: exactly the text of the
general path (``json.JSONEncoder``). Readers parse the JSON, never compare its text.
"""

from __future__ import annotations

import json
import json.encoder
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from itertools import chain, repeat
from operator import is_not, itemgetter, mul, sub
from typing import TYPE_CHECKING, Any

from orjson import dumps as _orjson_dumps

try:  # hashlib's own BLAKE2b, without hashlib's import of OpenSSL (about 3 ms a process)
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - an interpreter without the built-in module
    from hashlib import blake2b as _blake2b

from ..serialize import SNAPSHOT_OPTIONS, TextReader, has_nonfinite

if TYPE_CHECKING:
    from ..models import Run
    from .base import RunRecord

#: epoch seconds below which (year 10000) a float time takes the cached path
_LAST_SECOND = 253_402_300_800.0


def iso(value: datetime | float | None) -> str | None:
    """UTC ISO-8601 text with microseconds (``2026-11-29T14:05:09.123456+00:00``), so that text
    order is time order. ``value`` is an aware or naive (UTC) datetime, or epoch seconds.
    """
    if type(value) is float and 0.0 <= value < _LAST_SECOND:
        # What datetime.fromtimestamp does: the fraction rounded half-even to microseconds.
        second = int(value)
        micro = round((value - second) * 1e6)
        if micro == 1_000_000:
            second, micro = second + 1, 0
        return f"{_second_text(second)}.{micro:06d}+00:00"
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat(timespec="microseconds")


@lru_cache(maxsize=256)
def _second_text(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a whole epoch second (UTC)."""
    return datetime.fromtimestamp(second, tz=timezone.utc).isoformat()[:19]


_general_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _reused_encoder() -> Callable[[Any], str] | None:
    """``_general_encode`` without building a new C encoder per call (None where there is none).

    ``JSONEncoder.encode`` makes a ``c_make_encoder`` object for every value it encodes; making
    it once, with the same settings, halves the cost of a small dict. It is built without the
    cycle check: the recorder's values have none (``serialize`` breaks cycles), and a value that
    fails here is encoded again by the general path, which names the problem.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        chunks = make(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False,
                      True)  # fmt: skip
    except TypeError:  # another signature than CPython's
        return None

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    probe = {"s": 'é\n"', "n": [1, 2.5, None, True, float("nan")], "o": {"k": {}}}
    return encode if encode(probe) == _general_encode(probe) else None


_fast_encode = _reused_encoder()


def to_json(value: Any) -> str | None:
    """JSON text of ``value`` (None stays None). Plain JSON data (what the recorder keeps: dicts
    with text keys, lists, text, 64-bit ints, finite floats, bools, None; an Enum as its value,
    as the recorder's converter writes it) is written compactly by orjson; anything else as
    ``json.JSONEncoder(ensure_ascii=False, default=str)`` writes it (NaN as ``NaN``, other
    objects as ``str()``). ``bytes`` are JSON text already (the recorder's snapshot of a step's
    input or output, see ``serialize.snapshot``, which orjson wrote) and are kept as they are;
    a ``serialize.JSONText`` (text kept unchecked: a captured span's) is checked first.
    """
    if value is None:
        return None
    if type(value) is bytes:
        return value.decode("utf-8")
    if type(value) is dict and not value:
        return "{}"
    if type(value) is tuple and len(value) == 2 and isinstance(value[1], TextReader):
        return to_json(value[1].data(value[0]))  # JSON text kept unchecked: checked now
    try:  # plain JSON data, the recorder's (a step's metadata): orjson writes it 3x faster
        text = _orjson_dumps(value, None, SNAPSHOT_OPTIONS)
    except Exception:  # noqa: BLE001, S110 - not plain JSON data: the general path below
        pass
    else:  # orjson writes NaN and infinities as null: a text with null is checked for them
        # (replace() returns the very object when there is none: see serialize.snapshot)
        if text.replace(b"null", b"") is text or not has_nonfinite(value):
            return text.decode("utf-8")
    if _fast_encode is not None:
        try:
            return _fast_encode(value)
        except Exception:  # noqa: BLE001 - the general path raises what is wrong, or copes
            pass
    return _general_encode(value)


def trace_row(record: dict[str, Any], digest: bytes | None = None) -> tuple[Any, ...]:
    """The ``traces`` row of a trace record (times as ISO-8601 text, metadata as JSON), with
    ``digest`` (:func:`trace_digest` of its steps' rows, when they are all at hand) last."""
    get = record.get
    return (
        record["trace_id"], record["name"], iso(record["start_time"]), iso(get("end_time")),
        get("duration_ms"), to_json(get("metadata") or {}), record["status"], get("run_id"),
        get("test_id"), digest,
    )  # fmt: skip


def trace_digest(steps: Sequence[tuple[Any, ...]]) -> bytes | None:
    """16 bytes of BLAKE2b over a trace's steps (their rows as :func:`step_row` builds them,
    all of them, in any order): each step's digest, order and parent's place, in step order.
    Equal digests: the same steps' contents in the same order and nesting (not the same ids or
    times). Readers work a decision out once per distinct digest (``serve.history``).

    None when the steps are not as a recorder writes them (an order that is no int, or repeated;
    a parent not among the steps before) or a step has no digest: readers then read the trace's
    steps, as for a trace stored before schema 6.
    """
    # Written for speed: this runs on the writer thread for every trace a test hands over.
    try:
        ordered = sorted(steps, key=_ORDER)
    except TypeError:  # an order None among others
        return None
    parts = []
    place: dict[Any, int] = {}  # a step id -> its place in step order
    previous = None
    for row in ordered:
        order, parent, digest = row[4], row[2], row[14]
        if type(order) is not int or order == previous or digest is None:
            return None
        previous = order
        above = -1 if parent is None else place.get(parent)
        if above is None:
            return None
        place[row[0]] = len(place)
        parts.append(digest)  # 16 bytes, then text up to ";": no two traces give the same bytes
        parts.append(b"%d,%d;" % (order, above))
    hasher = _HASHER.copy()
    hasher.update(b"".join(parts))
    return hasher.digest()


_ORDER = itemgetter(4)


def step_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """The ``steps`` row of a step record, its :func:`step_digest` last."""
    get = record.get
    name, status = record["name"], record["status"]
    reasoning, error = get("reasoning"), get("error")
    input_, output = to_json(get("input")), to_json(get("output"))
    metadata = to_json(get("metadata") or {})
    return (
        record["step_id"], record["trace_id"], get("parent_id"), name, record["step_order"],
        input_, output, reasoning, metadata, status, error, iso(record["start_time"]),
        iso(get("end_time")), get("duration_ms"),
        step_digest(name, status, input_, output, reasoning, metadata, error),
    )  # fmt: skip


def step_values(records: list[dict[str, Any]]) -> list[Any]:
    """The values of the :func:`step_row` of each record, row after row, in one list (what a
    many-row ``INSERT`` binds): ``list(chain.from_iterable(map(step_row, records)))``.

    This runs on the writer thread for every batch of recorded steps, so it is written for
    speed: each column is made by one C-level pass over the batch (``map``, ``zip``,
    ``itemgetter``), not by Python bytecode per step, for the common case of the recorder's
    records (plain dicts, inputs and outputs as JSON bytes, float times); a column of anything
    else is made by the per-value functions :func:`step_row` uses, and no tuple is made per row.
    A batch holding a record :func:`step_row` refuses is built record by record, so that it
    raises what :func:`step_row` raises.
    """
    try:
        columns = _step_columns(records)
    except Exception:  # noqa: BLE001 - a record step_row refuses: it names it
        return list(chain.from_iterable(map(step_row, records)))
    width = len(columns)
    values: list[Any] = [None] * (width * len(records))
    for place, column in enumerate(columns):  # row after row: each column a slice, in C
        values[place::width] = column
    return values


def _step_columns(records: list[dict[str, Any]]) -> tuple[Sequence[Any], ...]:
    """The columns of the steps' rows (see :func:`step_values`)."""
    count = len(records)
    if {*map(type, records)} != {dict}:  # dict.get below would skip a subclass's own get()
        raise TypeError("not plain dicts")
    try:  # the recorder's records hold every key: all read in one pass
        columns: list[Sequence[Any]] = list(zip(*map(_STEP_KEYS, records), strict=True))
    except KeyError:  # an optional key missing: read as step_row reads it (get: None)
        columns = [list(map(itemgetter(key), records)) if key in _REQUIRED
                   else list(map(dict.get, records, repeat(key))) for key in _STEP_FIELDS]  # fmt: skip
    if not count:
        return ((),) * 15
    ids, trace_ids, parents, names, orders, inputs, outputs, reasonings, metadata, statuses, \
        errors, starts, ends, durations = columns  # fmt: skip
    (inputs, hashed_inputs), (outputs, hashed_outputs) = _json_column(inputs), _json_column(outputs)
    metadata = [to_json(m) if m else "{}" for m in metadata] if any(metadata) else ["{}"] * count
    digests = _step_digests(count, names, statuses, hashed_inputs, hashed_outputs, reasonings,
                            metadata, errors)  # fmt: skip
    return (
        ids, trace_ids, parents, names, orders, inputs, outputs, reasonings, metadata, statuses,
        errors, _iso_column(starts), _iso_column(ends), durations, digests,
    )  # fmt: skip


#: a step record's fields, in the order of the columns of its row
_STEP_FIELDS = (
    "step_id", "trace_id", "parent_id", "name", "step_order", "input", "output", "reasoning",
    "metadata", "status", "error", "start_time", "end_time", "duration_ms",
)  # fmt: skip
_STEP_KEYS = itemgetter(*_STEP_FIELDS)
#: the fields step_row reads with record[...] (a record without one is refused)
_REQUIRED = frozenset(("step_id", "trace_id", "name", "step_order", "status", "start_time"))


def _json_column(values: Sequence[Any]) -> tuple[list[str | None], Sequence[str]]:
    """:func:`to_json` of each value (JSON bytes, the recorder's, decoded in one pass), and the
    same texts as :func:`step_digest` hashes them (None as empty)."""
    if {*map(type, values)} <= {bytes}:
        texts = list(map(bytes.decode, values))
        return texts, texts  # type: ignore[return-value]  # no None among them
    converted: list[str | None] = list(map(to_json, values))
    return converted, _or_empty(converted)


def _iso_column(values: Sequence[Any]) -> Sequence[str | None]:
    """:func:`iso` of each value: float times (the recorder's) in a few C-level passes."""
    if values and {*map(type, values)} == {float} and min(values) >= 0.0 \
            and max(values) < _LAST_SECOND:  # fmt: skip
        seconds = list(map(int, values))
        micros = list(map(float.__round__, map(mul, map(sub, values, seconds), repeat(1e6))))
        if 1_000_000 not in micros:  # else a fraction rounded up to the next second: iso() does it
            return list(map(str.__mod__, map(_SECOND_FORMATS.__getitem__, seconds), micros))
    return list(map(iso, values))


class _SecondFormats(dict[int, str]):
    """The ``%`` format of :func:`iso`'s text of a time in a second, given its microseconds, by
    epoch second: a dict read in C (a hit costs a third of an ``lru_cache`` call's), emptied
    when it holds a day of seconds (a burst of steps shares a handful)."""

    def __missing__(self, second: int) -> str:
        if len(self) >= 86_400:
            self.clear()
        made = self[second] = _second_text(second) + ".%06d+00:00"
        return made


_SECOND_FORMATS = _SecondFormats()


def _step_digests(
    count: int, names: Sequence[str], statuses: Sequence[str], inputs: Sequence[str],
    outputs: Sequence[str], reasonings: Sequence[str | None], metadata: Sequence[str],
    errors: Sequence[str | None],
) -> list[bytes]:  # fmt: skip
    """:func:`step_digest` of each step, the texts joined and hashed in C-level passes."""
    texts = list(map("\0".join, zip(
        names, statuses, inputs, outputs, metadata, _or_empty(reasonings),
        _or_empty(errors), _lengths(names, count), _lengths(reasonings, count),
        _lengths(errors, count), strict=True,
    )))  # fmt: skip
    try:  # UTF-8 as step_digest encodes it: the same bytes unless a text holds a lone surrogate
        encoded = list(map(str.encode, texts))
    except UnicodeEncodeError:
        encoded = list(map(str.encode, texts, repeat("utf-8"), repeat("surrogatepass")))
    hashers = list(map(_COPY, repeat(_HASHER, count)))
    deque(map(_UPDATE, hashers, encoded), maxlen=0)
    return list(map(_DIGEST, hashers))


def _or_empty(texts: Sequence[str | None]) -> Sequence[str]:
    """The texts, None as empty (as :func:`step_digest` joins them)."""
    return [text or "" for text in texts] if None in texts else texts  # type: ignore[return-value]


def _lengths(texts: Sequence[str | None], count: int) -> Sequence[str]:
    """``str(len(text))`` of each text, ``-1`` for None (as :func:`step_digest` writes them)."""
    if None in texts:
        if not any(map(is_not, texts, repeat(None))):
            return ["-1"] * count
        return ["-1" if text is None else str(len(text)) for text in texts]
    lengths = list(map(len, texts))  # type: ignore[arg-type]
    try:
        return list(map(_LENGTH_TEXTS.__getitem__, lengths))
    except IndexError:
        return list(map(str, lengths))


_LENGTH_TEXTS = [str(n) for n in range(4096)]  # str() of the common lengths, made once


def step_digest(
    name: str, status: str, input_: str | None, output: str | None, reasoning: str | None,
    metadata: str | None, error: str | None,
) -> bytes:  # fmt: skip
    """16 bytes of BLAKE2b over a step's content as stored (its texts; not its ids, place or
    times): equal digests, equal columns. Readers compare steps by it without reading their
    text (``serve.content``); it is computed from the texts the row holds anyway.

    ``input_``, ``output`` and ``metadata`` are JSON text or None, as :func:`to_json` writes
    them (never a NUL character, which JSON escapes, nor empty).
    """
    # The texts joined by NUL (NULL as empty: JSON text is never empty), then the lengths of
    # those that may hold a NUL or be empty (-1: NULL): no two contents give the same bytes.
    # Written for speed (str() of an int costs half what formatting it does): this runs for
    # every step recorded. A lone surrogate is hashed as it is (before ``scrubbed``).
    text = "\0".join((
        name, status, input_ or "", output or "", metadata or "", reasoning or "", error or "",
        str(len(name)), "-1" if reasoning is None else str(len(reasoning)),
        "-1" if error is None else str(len(error)),
    ))  # fmt: skip
    hasher = _HASHER.copy()  # a copy of a made hasher: no keyword arguments parsed per step
    hasher.update(text.encode("utf-8", "surrogatepass"))
    return hasher.digest()


_HASHER = _blake2b(digest_size=16)
_COPY, _UPDATE, _DIGEST = _blake2b.copy, _blake2b.update, _blake2b.digest


def run_row(run: Run | RunRecord) -> tuple[Any, ...]:
    """The ``runs`` row of a run (counts as JSON with sorted keys)."""
    return (
        run.run_id, iso(run.started_at), iso(run.finished_at), run.git_commit, run.git_branch,
        None if run.git_dirty is None else int(run.git_dirty), run.command,
        json.dumps(run.counts, sort_keys=True), run.status, run.host, run.pid,
    )  # fmt: skip


def run_test_row(run_id: str, test: dict[str, Any]) -> tuple[Any, ...]:
    """The ``run_tests`` row of one test of ``run_id`` (keys: ``RUN_TEST_COLUMNS``)."""
    return (
        run_id, test["test_id"], test.get("outcome"), test.get("baseline"),
        test.get("duration_ms"), test.get("message"),
    )  # fmt: skip


def scrubbed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` with text that UTF-8 cannot encode (lone surrogates) written as ``\\udcxx``."""
    return tuple(
        v.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(v, str) else v
        for v in row
    )
