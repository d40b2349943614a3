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
from typing import Any

BUSY_TIMEOUT_MS = 10_000
# SQLite's own verdicts on a file that is damaged or not a database at all (extended codes
# such as SQLITE_CORRUPT_INDEX start with these names too)
CORRUPTION_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class StateError(Exception):
    """The state database cannot be used (missing, corrupt, or written by a newer shiftctl)."""


class StateMissing(StateError):
    """There is no state database yet (or it was never migrated): nothing has run here."""


class StateCorrupt(StateError):
    """The file is damaged, not a database, or a database that is not shiftctl's state."""


class StateTooNew(StateError):
    """A newer shiftctl wrote this database: this one does not know all its migrations."""


def is_corruption(exc: BaseException) -> bool:
    """Does this error say the database file itself is damaged (not busy, full or absent)?"""
    if isinstance(exc, StateCorrupt):
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.DatabaseError) and name.startswith(CORRUPTION_CODES)


class StateConnection(sqlite3.Connection):
    """A connection that may carry the audit key its writer signs events with
    (``events.sign_with``): the admin loads the key, the store only computes with it."""

    audit_key: Any = None


def connect(path: Path, *, readonly: bool = False, wal: bool = True) -> sqlite3.Connection:
    """Open a database file; readers open it read-only so they can never write by accident."""
    if readonly:
        if not path.exists():
            raise StateMissing(f"{path}: no such database")
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               factory=StateConnection)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               factory=StateConnection)
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
        raise (StateCorrupt if is_corruption(exc) else StateError)(f"{path}: {exc}") from exc
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
