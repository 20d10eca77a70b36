"""Safe conversion of any Python value into JSON-able data.

Recording must never crash the pipeline it observes, so :func:`to_jsonable` accepts anything and
always returns plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``:

==========================  ===============================================
value                       stored as
==========================  ===============================================
datetime / date / time      ISO-8601 string
Decimal, UUID, Path         ``str(value)``
set / frozenset             sorted list (by repr when items don't compare)
bytes / bytearray           ``"base64:<data>"``
Enum                        its ``value`` (converted again)
dataclass, pydantic model   dict of fields
numpy scalar / array        number / nested list
pandas DataFrame / Series   ``to_dict()`` of the first MAX_ITEMS rows
NaN, +inf, -inf             ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
a lone surrogate in text    the escape text ``\\udce9`` (see :func:`escape_surrogates`)
a container seen above      ``"<cycle>"``
anything else               ``repr(value)`` without `` at 0x...`` addresses
                            (``"<unreprable T>"`` if repr fails)
==========================  ===============================================

Strings longer than :data:`MAX_STRING` characters, bytes longer than :data:`MAX_BYTES` and
containers longer than :data:`MAX_ITEMS` entries are truncated with an explicit marker that gives
the original size; nesting deeper than :data:`MAX_DEPTH` becomes ``"<too deep>"``. Dict keys become
strings. A value whose own conversion fails (a broken ``model_dump``, a mapping whose ``items()``
raises) falls back to its ``repr()``, so the rest of the structure is kept.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any, TypeAlias
from uuid import UUID

import orjson

from .surrogates import _utf8, escape_surrogates

MAX_STRING = 10_000
MAX_BYTES = 7_500  # 10,000 base64 characters
MAX_ITEMS = 1_000
MAX_DEPTH = 50
TRUNCATED_KEY = "__truncated__"

_FLAT = frozenset((int, bool, type(None)))


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads_json(text: str) -> Any:
    """``json.loads(text)``, with every lone surrogate in its strings and keys escaped.

    A JSON document can hold a lone surrogate as a ``\\udce9`` escape (a database or export
    written before X-Ray escaped them, or by another program); read back, it is made the text
    X-Ray records (:func:`escape_surrogates`), so it can be written anywhere again.
    """
    data = json.loads(text)
    return escape_surrogates_in(data) if _SURROGATE_ESCAPE.search(text) else data


def escape_surrogates_in(data: Any) -> Any:
    """JSON data with :func:`escape_surrogates` applied to every string and key, at any depth.

    Lists and dicts are changed in place (give it data of your own, such as freshly parsed
    JSON); a lone string is returned escaped.
    """
    if type(data) is str:
        return escape_surrogates(data)
    pending = [data]
    while pending:
        container = pending.pop()
        if type(container) is list:
            for index, item in enumerate(container):
                if type(item) is str:
                    container[index] = escape_surrogates(item)
                elif type(item) is list or type(item) is dict:
                    pending.append(item)
        elif type(container) is dict:
            items = list(container.items())
            container.clear()  # refilled in the same order, keys escaped
            for key, item in items:
                if type(item) is str:
                    item = escape_surrogates(item)
                elif type(item) is list or type(item) is dict:
                    pending.append(item)
                container[escape_surrogates(key)] = item
    return data


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-able data; never raises (see the module docstring for the rules)."""
    kind = type(value)
    try:
        if kind is dict:
            if len(value) <= MAX_ITEMS:  # the flat dict of scalars, inlined: the commonest value
                for key, item in value.items():
                    if type(key) is not str or not (key.isascii() or _utf8(key)):
                        break
                    kind = type(item)
                    if kind is str:
                        if len(item) > MAX_STRING or not (item.isascii() or _utf8(item)):
                            break
                    elif kind is float:
                        if item - item != 0:  # NaN or an infinity
                            break
                    elif kind is not int and kind is not bool and item is not None:
                        break
                else:
                    return value.copy()
            copy: Any = _plain_dict(value, _PLAIN_DEPTH)
        elif kind is list or kind is tuple:
            copy = _plain_list(value, _PLAIN_DEPTH)
        else:
            copy = None
    except Exception:  # noqa: BLE001 - e.g. changed by another thread: the converter decides
        copy = None
    if copy is not None:
        return copy
    try:
        return _convert(value, set(), 0)
    except Exception as exc:  # noqa: BLE001 - the observed pipeline must never see our failure
        return escape_surrogates(f"<unserializable {type(value).__name__}: {type(exc).__name__}>")


# The fast snapshot: recording a step is a hot path, and what pipelines record is nearly always
# plain JSON already (dicts with str keys, lists, short text, finite numbers). For such a value
# the converter's result is a copy of it, which these two functions make without the converter's
# bookkeeping. They accept only what they can prove the converter would copy unchanged, and
# return None for anything else (any other type, a long or non-UTF-8 string, NaN or infinity, a
# container beyond MAX_ITEMS, nesting deeper than _PLAIN_DEPTH), so that the converter handles the
# value whole. A cycle made of dicts and lists is infinitely deep, so it always reaches the
# converter, which reports it. ASCII text (``isascii`` is O(1)) cannot hold a surrogate.
_PLAIN_DEPTH = 8  # levels below the top; far under MAX_DEPTH, so no "<too deep>" is skipped


def _plain_dict(value: dict[Any, Any], depth: int) -> dict[str, Any] | None:
    """A copy of ``value`` if it is plain JSON (see above), else None."""
    if len(value) > MAX_ITEMS:
        return None
    nested = False
    for key, item in value.items():
        if type(key) is not str or not (key.isascii() or _utf8(key)):
            return None
        kind = type(item)
        if kind is str:
            if len(item) > MAX_STRING or not (item.isascii() or _utf8(item)):
                return None
        elif kind is dict or kind is list or kind is tuple:
            nested = True
        elif kind not in _FLAT and not (kind is float and item - item == 0):
            return None
    if not nested:
        return value.copy()
    if depth == 0:
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = type(item)
        if kind is dict:
            item = _plain_dict(item, depth - 1)
        elif kind is list or kind is tuple:
            item = _plain_list(item, depth - 1)
        else:
            out[key] = item
            continue
        if item is None:
            return None
        out[key] = item
    return out


def _plain_list(value: list[Any] | tuple[Any, ...], depth: int) -> list[Any] | None:
    """A list copy of ``value`` (a list or tuple) if it is plain JSON (see above), else None."""
    if len(value) > MAX_ITEMS:
        return None
    nested = False
    for item in value:
        kind = type(item)
        if kind is str:
            if len(item) > MAX_STRING or not (item.isascii() or _utf8(item)):
                return None
        elif kind is dict or kind is list or kind is tuple:
            nested = True
        elif kind not in _FLAT and not (kind is float and item - item == 0):
            return None
    if not nested:
        return list(value)
    if depth == 0:
        return None
    out: list[Any] = []
    for item in value:
        kind = type(item)
        if kind is dict:
            item = _plain_dict(item, depth - 1)
        elif kind is list or kind is tuple:
            item = _plain_list(item, depth - 1)
        else:
            out.append(item)
            continue
        if item is None:
            return None
        out.append(item)
    return out


def snapshot(value: Any) -> Any:
    """``value`` frozen for a record: ``to_jsonable(value)``, or its UTF-8 JSON text as ``bytes``.

    The recorder keeps a step's input and output this way: a value mutated after it was recorded
    does not change the record, and :func:`thaw` gives back exactly ``to_jsonable(value)``. The
    text is written by orjson in one call in C, and kept only when it is provably what the
    converter would give; otherwise the converter runs (see the comments below). A store that
    writes JSON keeps the text as it is, and nothing is parsed until the trace is read.
    ``bytes`` cannot be mistaken for converted data: the converter never returns bytes.
    Never raises.
    """
    if value is None:
        return None
    try:
        text = _orjson_dumps(value, None, SNAPSHOT_OPTIONS)
    except Exception:  # noqa: BLE001 - a type orjson refuses (the converter's job), a cycle...
        return to_jsonable(value)
    # The common case. replace() returns the very object when the text holds no "null" (no
    # copy, no tuple: cheaper than partition, find or `in`); a new object sends it on below.
    if len(text) <= SHORT_TEXT and text.replace(b"null", b"") is text:
        return b"%b" % text  # a copy: orjson's own bytes hold on to its whole buffer (kilobytes)
    return snapshot_of(value, text)


def snapshot_of(value: Any, text: bytes) -> Any:
    """What :func:`snapshot` gives for ``value``, which orjson wrote as ``text`` (with the
    snapshot's options): that text (a copy) when it is provably the converter's, else
    ``to_jsonable(value)``. The recorder inlines the common case and calls this for the rest:
    a text longer than :data:`SHORT_TEXT` or holding ``null``. Never raises.
    """
    if value is None:
        return None
    try:
        if len(text) > SHORT_TEXT and not _within_limits(text):
            return to_jsonable(value)
        # orjson writes NaN and infinities as null, the converter as "NaN", "Infinity": a text
        # with null (a None, or "null" in a string) is kept only if the value holds neither.
        if text.replace(b"null", b"") is not text and has_nonfinite(value):  # see snapshot
            return to_jsonable(value)
    except Exception:  # noqa: BLE001 - e.g. a value changed by another thread meanwhile
        return to_jsonable(value)
    return b"%b" % text


class TextReader:
    """Reads a :data:`JSONText`: JSON text another program wrote (a captured span's
    ``input.value``), which a record keeps unchecked as the pair ``(text, reader)``.
    Subclasses implement :meth:`data` (:class:`xray_core.otel.mapping.SpanJSON`); an instance
    is shared by every pair it reads, so keeping a text costs a tuple, not an object of its own.
    """

    __slots__ = ()

    def data(self, text: str) -> Any:
        """The JSON-able data ``text`` holds, checked now; never raises."""
        raise NotImplementedError


#: JSON text another program wrote, kept in a record unchecked: the pair ``(text, reader)``, a
#: ``str`` and the :class:`TextReader` that checks it when it is read (:func:`thaw`). No record
#: holds a tuple otherwise (the converter makes lists of tuples, and a snapshot is ``bytes``),
#: and a user's data never holds a :class:`TextReader`: nothing mistakes it for data. An encoder
#: given one refuses it (the reader is no JSON), so it is never written unchecked.
JSONText: TypeAlias = tuple[str, TextReader]


def is_json_text(value: Any) -> bool:
    """Whether ``value`` is a :data:`JSONText` (text kept unchecked, read by :func:`thaw`)."""
    return type(value) is tuple and len(value) == 2 and isinstance(value[1], TextReader)


def thaw(value: Any) -> Any:
    """JSON-able data from what :func:`snapshot` kept (``bytes`` are its JSON text), or from
    a :data:`JSONText` (checked now); anything else is returned as it is."""
    kind = type(value)
    if kind is bytes:
        return orjson.loads(value)
    if kind is tuple and len(value) == 2 and isinstance(value[1], TextReader):
        return value[1].data(value[0])
    return value


def thawed(value: Any) -> Any:
    """``default=`` for ``json.dumps`` of the recorder's records: a snapshot kept as JSON text
    (``bytes``) is written as the data it holds; any other type is refused, as without it. A
    :data:`JSONText` is a tuple, which an encoder writes as a list: a record holding one goes
    through :func:`thawed_step` first (else its reader is refused)."""
    if type(value) is bytes:
        return orjson.loads(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def thawed_step(record: dict[str, Any]) -> dict[str, Any]:
    """A step ``record`` whose ``input`` or ``output`` is a :data:`JSONText` as a copy holding
    the data it reads as (checked now); any other record as it is (the same object)."""
    if type(record.get("input")) is not tuple and type(record.get("output")) is not tuple:
        return record
    copied = dict(record)
    for key in ("input", "output"):
        if key in copied:
            copied[key] = thaw(copied[key])
    return copied


_orjson_dumps = orjson.dumps
# orjson raises for what it does not write as the converter converts, or would write its own
# way once these options send it to the (absent) default: subclasses of str, int, float, dict
# and list (the converter takes their base value, or an Enum's value), datetimes (ISO text
# either way, but the converter's is the rule) and dataclasses; any other type it does not know
# (sets, bytes, numpy, models...); dict keys that are not str; ints beyond 64 bits; text with a
# lone surrogate; nesting deeper than 255 (so any cycle). What it accepts is dict, list, tuple,
# str, int, float, bool, None, Enum (written as its value) and UUID (as its text), as the
# converter converts them, but for NaN and infinities, and for the converter's limits.
SNAPSHOT_OPTIONS = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
#: a text this short cannot hold a string over MAX_STRING, a container over MAX_ITEMS items
#: or more than MAX_DEPTH nested containers (each takes two bytes at least)
SHORT_TEXT = 2 * MAX_DEPTH + 1


def _within_limits(text: bytes) -> bool:
    """Whether the value written as ``text`` is surely within the converter's limits (length of
    strings and containers, depth); conservative, counted over the whole text in C."""
    return (
        len(text) <= MAX_STRING
        and text.count(b",") < MAX_ITEMS
        and text.count(b"[") + text.count(b"{") <= MAX_DEPTH
    )


def has_nonfinite(value: Any) -> bool:
    """Whether a value orjson accepted holds a NaN or an infinity, at any depth."""
    kind = type(value)
    if kind is float:
        return value - value != 0
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return isinstance(value, enum.Enum) and has_nonfinite(value.value)
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if has_nonfinite(item):
            return True
    return False


def _convert(value: Any, seen: set[int], depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return _float(value)
    if kind is dict:
        return _mapping(value, seen, depth)
    if kind is list or kind is tuple:
        return _sequence(value, seen, depth)
    return _other(value, seen, depth)


def _text(value: str) -> str:
    if len(value) > MAX_STRING:
        value = value[:MAX_STRING] + f"...<truncated: {len(value)} chars>"
    if value.isascii():
        return value
    try:  # inlined _utf8: this runs for every string of a value
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _enter(value: Any, seen: set[int], depth: int) -> bool:
    """Mark a container as being converted; False when it is a cycle or too deep."""
    if id(value) in seen or depth >= MAX_DEPTH:
        return False
    seen.add(id(value))
    return True


def _mapping(value: Mapping[Any, Any], seen: set[int], depth: int) -> Any:
    if not _enter(value, seen, depth):
        return "<cycle>" if id(value) in seen else "<too deep>"
    try:
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index == MAX_ITEMS:
                out[TRUNCATED_KEY] = f"{len(value)} items, {MAX_ITEMS} kept"
                break
            clean = type(key) is str and (key.isascii() or _utf8(key))
            out[key if clean else _key(key)] = _convert(item, seen, depth + 1)
        return out
    finally:
        seen.discard(id(value))


def _key(key: Any) -> str:
    converted = _convert(key, set(), MAX_DEPTH - 1)
    return converted if isinstance(converted, str) else str(converted)


def _sequence(value: Any, seen: set[int], depth: int) -> Any:
    if not _enter(value, seen, depth):
        return "<cycle>" if id(value) in seen else "<too deep>"
    try:
        items = value if type(value) is list or type(value) is tuple else list(value)  # no copy
        out = [_convert(item, seen, depth + 1) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            out.append(f"<truncated: {len(items)} items, {MAX_ITEMS} kept>")
        return out
    finally:
        seen.discard(id(value))


def _other(value: Any, seen: set[int], depth: int) -> Any:
    try:
        return _known(value, seen, depth)
    except Exception:  # noqa: BLE001 - one odd value must not lose the whole structure
        return _repr(value)


def _known(value: Any, seen: set[int], depth: int) -> Any:
    if isinstance(value, (str, int)):  # subclasses (bool and None never get here)
        if isinstance(value, enum.Enum):
            return _convert(value.value, seen, depth)
        return _text(str(value)) if isinstance(value, str) else int(value)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, enum.Enum):
        return _convert(value.value, seen, depth)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID, PurePath)):
        return _text(str(value))  # a Path read from disk may hold surrogates
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes(bytes(value))
    if isinstance(value, Mapping):
        return _mapping(value, seen, depth)
    if isinstance(value, (set, frozenset)):
        return _sequence(_sorted(value), seen, depth)
    if isinstance(value, (list, tuple)):
        return _sequence(value, seen, depth)
    return _structured(value, seen, depth)


def _bytes(data: bytes) -> str:
    text = "base64:" + base64.b64encode(data[:MAX_BYTES]).decode("ascii")
    return text if len(data) <= MAX_BYTES else text + f"...<truncated: {len(data)} bytes>"


def _sorted(items: Any) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


def _structured(value: Any, seen: set[int], depth: int) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not _enter(value, seen, depth):
            return "<cycle>"
        try:
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return _mapping(fields, seen, depth + 1)
        finally:
            seen.discard(id(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):  # pydantic v2 models
        return _convert(dump(mode="python"), seen, depth)
    numpy_value = _numpy(value)
    if isinstance(numpy_value, _TruncatedArray):
        kept = _convert(numpy_value.items, seen, depth)
        return [*kept, f"<truncated: {numpy_value.size} items, {MAX_ITEMS} kept>"]
    if numpy_value is not _NOT_NUMPY:
        return _convert(numpy_value, seen, depth)
    if type(value).__module__.partition(".")[0] == "pandas" and hasattr(value, "to_dict"):
        return _pandas(value, seen, depth)
    return _repr(value)


def _pandas(value: Any, seen: set[int], depth: int) -> Any:
    """A DataFrame or Series as its ``to_dict()``, of its first MAX_ITEMS rows only.

    Only pandas objects: another class's ``to_dict`` may do anything (query a database), while
    pandas' is a pure conversion.
    """
    rows = len(value)
    data = _convert((value.head(MAX_ITEMS) if rows > MAX_ITEMS else value).to_dict(), seen, depth)
    if rows > MAX_ITEMS and isinstance(data, dict):
        data[TRUNCATED_KEY] = f"{rows} rows, {MAX_ITEMS} kept"
    return data


_NOT_NUMPY = object()


def _numpy(value: Any) -> Any:
    """numpy scalars and arrays without importing numpy (``tolist``/``item`` are its protocol)."""
    if type(value).__module__ != "numpy":
        return _NOT_NUMPY
    tolist = getattr(value, "tolist", None)
    if not callable(tolist):
        return _NOT_NUMPY
    if getattr(value, "ndim", 0) >= 1 and len(value) > MAX_ITEMS:
        return _TruncatedArray(value[:MAX_ITEMS].tolist(), len(value))  # don't expand it all
    return tolist()


class _TruncatedArray:
    """The first items of a numpy array too long to keep, and its original length."""

    __slots__ = ("items", "size")

    def __init__(self, items: list[Any], size: int) -> None:
        self.items = items
        self.size = size


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break recording
        return _text(f"<unreprable {type(value).__name__}>")
    # "<Foo object at 0x7f...>": the address differs on every run, so recordings of the same
    # pipeline would never compare equal; without it they do.
    return _text(_ADDRESS.sub("", text))
