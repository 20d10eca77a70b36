"""Writing a file users keep so that it is never half-written: a temporary file beside it, then
``os.replace``.

An exception, a full disk or a killed process while writing leaves the previous file
byte-identical. The temporary file is removed on any failure; only a process killed between
creating and renaming it (SIGKILL, power loss) can leave one ``.<name>.<random>.tmp`` behind,
which nothing reads. The data is flushed to disk (``fsync``) before the rename, so after a crash
the file holds either the old or the new content, never a truncated one.

::

    from xray_core.atomic import atomic_writer, write_bytes_atomic, write_text_atomic

    write_text_atomic("report.html", html)
    write_bytes_atomic("report.html", html.encode())
    with atomic_writer("export.jsonl") as out:   # for streamed output
        for line in lines:
            out.write(line + "\\n")
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

#: characters of the target's name kept in the temporary name (a file name may be 255 bytes)
_NAME_CHARS = 40


def _temporary_path(target: Path) -> Path:
    # os.urandom is what secrets.token_hex reads, without importing secrets (and hmac) for it
    return target.with_name(f".{target.name[:_NAME_CHARS]}.{os.urandom(4).hex()}.tmp")


def _keep_mode(target: Path, temporary: Path) -> None:
    """Give the new file the permissions of the one it replaces (new files follow the umask)."""
    with contextlib.suppress(OSError):
        os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a directory, nor needs to)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[TextIO]:
    """A text stream whose content replaces ``path`` only when the ``with`` block succeeds.

    The parent directory must exist. On any exception (from the block or from the disk) the
    previous file is left as it was and the temporary file is removed; the exception propagates.

    :param newline: as for :func:`open` (``"\\n"`` writes the same bytes on every platform).
    """
    target = Path(path)
    temporary = _temporary_path(target)
    # os.open with 0o666 lets the umask decide a new file's permissions, as open() would
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        with open(fd, "w", encoding=encoding, newline=newline) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _keep_mode(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_directory(target.parent)


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", newline: str | None = None
) -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, encoding=encoding, newline=newline) as out:
        out.write(text)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_writer`), as they are."""
    with atomic_writer(path) as out:
        out.buffer.write(data)  # the text layer holds nothing: the bytes go straight through
