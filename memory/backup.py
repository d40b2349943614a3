"""Copies of the state database through SQLite's online backup API, and checking a copy.

The backup API copies a consistent snapshot page by page while the source stays open (a
plain file copy of a WAL database can catch it half-written). Copies are written to a
temporary name and renamed, so a crash never leaves a half copy under a real name, and they
are switched to rollback-journal mode so each is one self-contained file.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from shiftctl.memory.db import StateError, connect, is_corruption
from shiftctl.memory.migrations import applied, check_schema


@dataclass(frozen=True)
class Facts:
    """What a database file holds, as far as restoring it is concerned."""

    ok: bool
    problem: str = ""
    last_event: int = 0
    last_hash: str | None = None
    migrations: tuple[str, ...] = ()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy(src: sqlite3.Connection, dest: Path, *, journal: str = "delete") -> None:
    """Copy ``src`` to ``dest`` (replaced atomically, durably) with the backup API."""
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        src.backup(out)
        out.execute(f"PRAGMA journal_mode = {journal}")
    except BaseException:
        out.close()
        tmp.unlink(missing_ok=True)
        raise
    out.close()
    for leftover in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dest)
    _fsync_dir(dest.parent)


def integrity(conn: sqlite3.Connection, *, quick: bool = False) -> str | None:
    """None when SQLite finds the file sound, else its first complaints."""
    try:
        rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check",
                            ).fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = [str(r[0]) for r in rows]
    return None if found == ["ok"] else "; ".join(found[:3])


def inspect(path: Path, known: Collection[str], *, quick: bool = False) -> Facts:
    """Is this file a sound shiftctl state database this shiftctl can use? Read-only."""
    try:
        conn = connect(path, readonly=True)
    except StateError as exc:
        return Facts(False, str(exc))
    try:
        problem = integrity(conn, quick=quick)
        if problem:
            return Facts(False, f"integrity check failed: {problem}")
        check_schema(conn)
        names = tuple(applied(conn))
        if not names:
            return Facts(False, "an empty database: no shiftctl state in it")
        newer = sorted(set(names) - set(known))
        if newer:
            return Facts(False, f"written by a newer shiftctl (migrations {', '.join(newer)})",
                         migrations=names)
        row = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        return Facts(True, last_event=int(row[0]) if row else 0,
                     last_hash=str(row[1]) if row else None, migrations=names)
    except (StateError, sqlite3.DatabaseError) as exc:
        return Facts(False, str(exc) if not is_corruption(exc) else f"damaged: {exc}")
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
