"""The state database as the admin uses it: the single writer's store (events signed, the
audit anchor sealed), and what to tell a person when the file cannot be used.

Every command that finds state.db damaged, foreign or too new ends with ``explain``: what is
wrong, the newest good backup, and the exact command that restores it.
"""
from __future__ import annotations

import contextlib
import shlex
import sqlite3
from collections.abc import Callable

from shiftctl.admin.audit import anchor, keys
from shiftctl.admin.paths import Paths
from shiftctl.memory.db import StateCorrupt, StateError, StateTooNew, is_corruption
from shiftctl.memory.events import AuditKey
from shiftctl.memory.store import Store


def unusable(exc: BaseException) -> bool:
    """Is this error about the state db's file itself (not a busy lock or a full disk)?"""
    return isinstance(exc, (StateCorrupt, StateTooNew)) or is_corruption(exc)


def explain(paths: Paths, exc: BaseException) -> str:
    """What is wrong with state.db, and how to get going again."""
    from shiftctl.admin.backups import newest_good, taken_at  # only when something is wrong
    text = str(exc)
    db = str(paths.state_db)
    what = text if db in text else f"{db}: {text}"
    if isinstance(exc, StateTooNew):
        lead = f"{what}\nA newer shiftctl wrote this state: upgrade shiftctl, or go back to a " \
               "backup this version can use."
    else:
        lead = f"state.db cannot be used: {what}"
    try:
        best = newest_good(paths)
    except OSError:
        best = None
    root = shlex.quote(str(paths.root))
    if best is None:
        return (f"{lead}\nThere is no usable backup in {paths.backups}. To start over, move the "
                f"file aside (mv {shlex.quote(db)} {shlex.quote(db + '.corrupt')}); the next "
                "cycle starts a new state and plans the open issues again.")
    path, facts = best
    taken = taken_at(path)
    when = anchor.utc(taken) if taken is not None else "unknown time"
    return (f"{lead}\nThe newest good backup is {path} (taken {when}, {facts.last_event} "
            f"events).\nRestore it with:\n  shiftctl -C {root} state restore "
            f"{shlex.quote(str(path))}\n(the damaged file is kept beside it as "
            "state.db.corrupt-<time>; `shiftctl audit verify` then reports what was lost since "
            "the backup)")


def _emptied(paths: Paths) -> str | None:
    """state.db exists but holds nothing, while the anchor says it had events: a truncation
    to nothing, never a new database (a missing file is one: someone removed it)."""
    db = paths.state_db
    try:
        if db.stat().st_size > 0:
            conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
            try:
                tables = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            except sqlite3.DatabaseError:
                return None  # damaged: Store.open says how
            finally:
                conn.close()
            if tables:
                return None
        found = anchor.read(paths)
    except (OSError, anchor.AnchorError):
        return None
    if found is None or found.anchor is None:
        return None
    return (f"{db}: the file is empty, but the audit anchor says the log reached event "
            f"{found.anchor.event} (sealed {anchor.utc(found.sealed_at or 0)}): it was "
            "truncated or replaced")


def open_reader(paths: Paths) -> Store:
    """The state db read-only: ``StateMissing`` before anything ran, ``StateCorrupt`` for an
    unusable file (an emptied one too: read-only it would look like "nothing ran yet")."""
    if why := _emptied(paths):
        raise StateCorrupt(why)
    return Store.open(paths.state_db, readonly=True)


class StateWriter:
    """The single writer's store (hold the admin lock): refuses an emptied file, signs every
    event with the audit key, and seals the anchor when asked."""

    def __init__(self, paths: Paths,
                 on_migration_step: Callable[[str, int], None] | None = None) -> None:
        self.paths = paths
        self.fresh = not paths.state_db.exists()
        if not self.fresh and (why := _emptied(paths)):
            raise StateCorrupt(why)
        self.store = Store.open(paths.state_db, on_migration_step=on_migration_step)
        self.key: AuditKey | None
        try:
            self.key, self.key_problem = keys.attach(self.store, paths)
            self.before = anchor.look(self.store.conn, paths, self.key)  # before any write
        except BaseException:
            self.close()
            raise

    def seal(self, now: float) -> str | None:
        """Move the audit anchor to the newest event; returns a break it recorded, if any."""
        try:
            return anchor.seal(self.store.conn, self.paths, self.key, now=now, fresh=self.fresh,
                               before=self.before)
        except OSError as exc:
            return f"audit anchor {self.paths.audit_anchor} not written: {exc}"

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.store.close()


def describe_error(paths: Paths, exc: BaseException) -> str:
    """One message for any error a command met on the state db."""
    if unusable(exc):
        return explain(paths, exc)
    if isinstance(exc, StateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
