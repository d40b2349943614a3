"""Reading files of a repository an agent could have written, without leaving it.

A committed ``AGENTS.md -> /proc/self/environ`` would otherwise put the admin's environment in
the next prompt; ``-> ../outside`` or ``-> .git/config`` would read what is not the
repository's content. So every path is opened one component at a time, relative to the
directory opened before it, with ``O_NOFOLLOW`` (never ``Path.read_text``): a symlink on the
way is never followed by the kernel. The last component alone may be a symlink to another
regular file inside the repository (``CLAUDE.md -> AGENTS.md`` is common): its target is read
the same strict way (one hop; a link to a link is refused), and never one under ``.git`` or
``.shiftctl``. Anything that is not a regular file (a FIFO would block, a device would not end)
is refused too.
"""
from __future__ import annotations

import errno
import os
import posixpath
import stat
from pathlib import Path

PRIVATE = (".git", ".shiftctl")  # never the target of a link: git's and shiftctl's own state
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class Refused(Exception):
    """A path that leads out of the repository or to something that is not a file; the
    message says which and why."""


def _parts(rel: str) -> list[str]:
    if not rel or rel.startswith("/") or "\0" in rel:
        raise Refused(f"{rel!r} is not a path inside the repository")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise Refused(f"{rel!r} is not a path inside the repository")
    return parts


def _open_dir(root: Path, parts: list[str], rel: str) -> int:
    """The directory holding ``parts[-1]``, reached without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            try:
                nxt = os.open(part, _DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    where = "/".join(parts[:i + 1])
                    raise Refused(f"{rel}: {where} is a symlink or not a directory") from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _target(root: Path, dir_fd: int, rel: str) -> str:
    """Where the link ``rel`` points, as a path inside the repository (or Refused)."""
    name = rel.rsplit("/", 1)[-1]
    target = os.readlink(name, dir_fd=dir_fd)
    if target.startswith("/"):
        for base in dict.fromkeys([str(root), os.path.realpath(root)]):
            if target.startswith(base.rstrip("/") + "/"):
                target = target[len(base.rstrip("/")) + 1:]
                break
        else:
            raise Refused(f"{rel} is a symlink out of the repository (to {target})")
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if target == ".." or target.startswith("../"):
        raise Refused(f"{rel} is a symlink out of the repository (to {target})")
    if target.split("/")[0] in PRIVATE:
        raise Refused(f"{rel} is a symlink into {target.split('/')[0]}/ (to {target})")
    return target


def read(root: Path, rel: str, limit: int, *, follow: bool = True) -> bytes | None:
    """At most ``limit`` bytes of the regular file ``rel`` inside ``root``; None when there
    is no such file. Raises ``Refused`` for a path that leaves the repository or is not a
    regular file."""
    parts = _parts(rel)
    try:
        dir_fd = _open_dir(root, parts[:-1], rel)
    except FileNotFoundError:
        return None
    try:
        try:
            fd = os.open(parts[-1], _FILE, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            if not follow:
                raise Refused(f"{rel} is a symlink to a symlink") from None
            return read(root, _target(root, dir_fd, "/".join(parts)), limit, follow=False)
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"{rel} is not a regular file")
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def names(root: Path, rel: str) -> list[str]:
    """The entries of the directory ``rel`` inside ``root`` (reached without following a
    link), sorted; empty when it does not exist."""
    parts = _parts(rel)
    try:
        fd = _open_dir(root, parts, rel)
    except FileNotFoundError:
        return []
    try:
        with os.scandir(fd) as entries:
            return sorted(e.name for e in entries)
    finally:
        os.close(fd)
