"""Text that UTF-8 can hold: lone surrogates written as their escape text.

A module of its own (re-exported by :mod:`xray_core.serialize`), so that the pytest plugin's
per-test bookkeeping uses it without importing the serializer: pytest compiles every module of a
plugin's distribution from source in every process when bytecode is not written.
"""

from __future__ import annotations


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by its escape text (``"\\udce9"``).

    A file name or environment variable that is not valid UTF-8 reaches Python as a str holding
    lone surrogates (``os.fsdecode(b"caf\\xe9")`` is ``"caf\\udce9"``), which no UTF-8 file,
    SQLite text or JSON encoder accepts. Written as the six characters backslash, ``u`` and four
    hex digits (what Python's ``backslashreplace`` error handler writes), the text stays valid
    UTF-8 and keeps the information. Text without surrogates is returned as is (the same object).
    """
    if text.isascii() or _utf8(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _utf8(text: str) -> bool:
    """True when ``text`` holds no lone surrogate (encoding is faster than any search)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
