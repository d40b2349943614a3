"""Small file helpers: atomic writes, touch, tails."""
from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


def atomic_write(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write temp, fsync, rename: a reader sees the old file or the whole new one.

    ``durable=False`` skips the two fsyncs, for files that mean nothing after the machine
    crashes (a worker's spec and prompt, its heartbeat): other processes still see the old
    file or the whole new one, only a power loss may lose it.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if not durable:
        return
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, value: Any, *, durable: bool = True) -> None:
    atomic_write(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n",
                 durable=durable)


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a"):
        pass
    os.utime(path, None)


def wake(path: Path, reason: str) -> None:
    """Wake the loop: append why to its wake file (one word a line; the next cycle counts
    the reasons, ``admin/cycle/nap.py``). Appending keeps every waker's reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="ascii") as fh:
        fh.write(reason + "\n")


def tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return "[... truncated ...]\n" + text[-limit:]


class LinkedPathError(OSError):
    """A path shiftctl owns is, or passes through, a symbolic link (or lies elsewhere)."""


def check_unlinked(root: Path, path: Path) -> None:
    """``path`` lies below ``root`` and none of its components below ``root`` is a symbolic
    link: each is ``lstat``-ed, never followed. Raises ``LinkedPathError`` naming the first
    link. (A missing tail is fine: it is created later, by shiftctl.)"""
    root = Path(os.path.abspath(root))
    target = Path(os.path.abspath(path))
    try:
        rel = target.relative_to(root)
    except ValueError:
        raise LinkedPathError(f"{path} is not inside {root}; refusing to use it") from None
    current = root
    for part in rel.parts:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                raise LinkedPathError(
                    f"{current} is a symbolic link (to {os.readlink(current)!r}); shiftctl "
                    "never works, cleans or deletes through one: remove it")
        except FileNotFoundError:
            return
