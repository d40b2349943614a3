"""SQLite connections for shiftctl's state: WAL, a busy timeout, explicit write transactions.

Python's sqlite3 module opens implicit transactions on its own schedule; we switch that off
(``isolation_level=None``) and open every write transaction ourselves with ``BEGIN IMMEDIATE``
so a writer takes the write lock up front instead of failing half-way on an upgrade.
"""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


class StateError(Exception):
    """The state database cannot be used (missing, corrupt, or written by a newer shiftctl)."""


def connect(path: Path, *, readonly: bool = False, wal: bool = True) -> sqlite3.Connection:
    """Open a database file; readers open it read-only so they can never write by accident."""
    if readonly:
        if not path.exists():
            raise StateError(f"{path}: no such database")
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            mode = "wal" if wal else "delete"
            conn.execute(f"PRAGMA journal_mode = {mode}")
            conn.execute("PRAGMA synchronous = NORMAL" if wal else "PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"{path}: {exc}") from exc
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

    Nested use joins the outer transaction, so a helper that writes can be called both on
    its own and as part of a larger state change.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLITE_FULL and friends may have rolled back already
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def sqlite_version() -> str:
    return sqlite3.sqlite_version
