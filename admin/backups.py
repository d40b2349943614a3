"""State backups: taken on a schedule and on demand, verified, pruned, and restored.

Backups live outside the repository (``Paths.backups``): ``rm -rf .shiftctl`` or
``git clean -fdx`` removes the state they exist to bring back, and a sandboxed agent, which
may write nothing outside its worktree, cannot touch them either way. A new backup is kept
only once SQLite's integrity check passes on the copy, and only then are older ones pruned.
A restore keeps the damaged file beside the new one and never deletes it.
"""
from __future__ import annotations

import calendar
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from shiftctl.admin.audit import anchor
from shiftctl.admin.cycle.lock import AdminLock
from shiftctl.admin.paths import Paths
from shiftctl.memory import backup as sqlite_backup
from shiftctl.memory.backup import Facts
from shiftctl.memory.db import StateCorrupt, connect
from shiftctl.memory.migrations import MIGRATIONS
from shiftctl.memory.store import Store

PREFIX = "state-"
SUFFIX = ".db"
STAMP = "%Y%m%dT%H%M%S"
KNOWN = tuple(m.name for m in MIGRATIONS)


class BackupError(Exception):
    """A backup or restore could not be done; nothing was lost. The message says why."""


def name_for(ts: float) -> str:
    ms = min(int((ts % 1) * 1000), 999)
    return f"{PREFIX}{time.strftime(STAMP, time.gmtime(ts))}.{ms:03d}Z{SUFFIX}"


def taken_at(path: Path) -> float | None:
    """When a backup was taken, from its name (None for a file named otherwise)."""
    stem = path.name[len(PREFIX):-len(SUFFIX)] if path.name.startswith(PREFIX) else ""
    try:
        whole, _, frac = stem.rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(whole, STAMP)) + int(frac or 0) / 1000
    except ValueError:
        return None


def listing(paths: Paths) -> list[Path]:
    """This repository's backups, newest first (the names sort by time)."""
    try:
        found = [p for p in paths.backups.iterdir()
                 if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX)
                 and taken_at(p) is not None]
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def newest_good(paths: Paths) -> tuple[Path, Facts] | None:
    """The newest backup that passes a quick check and that this shiftctl can use."""
    for path in listing(paths):
        facts = sqlite_backup.inspect(path, KNOWN, quick=True)
        if facts.ok:
            return path, facts
    return None


def _new_path(paths: Paths, now: float) -> Path:
    paths.backups.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(paths.backups, 0o700)
    ts = now
    while (paths.backups / name_for(ts)).exists():
        ts += 0.001
    return paths.backups / name_for(ts)


def prune(paths: Paths, keep: int) -> list[Path]:
    removed = []
    for old in listing(paths)[max(keep, 1):]:
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


def take(store: Store, paths: Paths, now: float, keep: int) -> tuple[Path, Facts, list[Path]]:
    """Back up the open state db; (the copy, what it holds, the old copies pruned).

    A copy that fails its check is removed and the older ones stay; if the source itself
    fails a check, that is ``StateCorrupt``: the caller stops and says how to restore.
    """
    dest = _new_path(paths, now)
    sqlite_backup.copy(store.conn, dest)
    facts = sqlite_backup.inspect(dest, KNOWN)
    if not facts.ok:
        dest.unlink(missing_ok=True)
        source = sqlite_backup.integrity(store.conn, quick=True)
        if source:
            raise StateCorrupt(f"{paths.state_db}: integrity check failed: {source}")
        raise BackupError(f"the new backup {dest} failed its check ({facts.problem}); it was "
                          "removed and the older backups kept")
    return dest, facts, prune(paths, keep)


@dataclass
class Restored:
    backup: Path
    facts: Facts
    aside: list[Path] = field(default_factory=list)
    warning: str | None = None


def _choose(paths: Paths, chosen: Path | None) -> tuple[Path, Facts]:
    if chosen is None:
        found = newest_good(paths)
        if found is None:
            raise BackupError(f"no usable backup in {paths.backups} (shiftctl state list "
                              "shows what is there)")
        return found
    path = chosen if chosen.exists() or chosen.is_absolute() else paths.backups / chosen
    if not path.is_file():
        raise BackupError(f"{chosen}: no such backup (shiftctl state list shows them)")
    facts = sqlite_backup.inspect(path, KNOWN)
    if not facts.ok:
        raise BackupError(f"{path} cannot be restored: {facts.problem}")
    return path, facts


def _set_aside(paths: Paths, now: float) -> list[Path]:
    """Keep the current state.db (and its WAL) under a new name; delete nothing."""
    db = paths.state_db
    if not db.exists():
        return []
    sound = sqlite_backup.inspect(db, KNOWN, quick=True).ok
    label = "replaced" if sound else "corrupt"
    stem = f"{db.name}.{label}-{time.strftime(STAMP, time.gmtime(now))}Z"
    base, n = db.with_name(stem), 1
    while base.exists():
        n += 1
        base = db.with_name(f"{stem}-{n}")
    os.link(db, base)  # the old file stays at state.db until the new one replaces it
    moved = [base]
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db}{suffix}")
        if side.exists():  # a stale WAL must never meet the restored file
            side.rename(Path(f"{base}{suffix}"))
            moved.append(Path(f"{base}{suffix}"))
    return moved


def restore(paths: Paths, chosen: Path | None, now: float) -> Restored:
    """Replace state.db with a backup, through the backup API, under the admin lock."""
    paths.runtime.mkdir(parents=True, exist_ok=True)
    lock = AdminLock(paths.lock)
    if not lock.acquire():
        raise BackupError(f"a cycle is running (it holds {paths.lock}); wait for it to end, "
                          "or stop the loop, then run this again")
    try:
        path, facts = _choose(paths, chosen)
        staged = paths.runtime / "state.db.restoring"
        src = connect(path, readonly=True)
        try:
            sqlite_backup.copy(src, staged)
        finally:
            src.close()
        restored = Restored(path, facts, _set_aside(paths, now))
        os.replace(staged, paths.state_db)
        try:
            anchor.record_restore(paths, path, facts.last_event, facts.last_hash, now)
        except (anchor.AnchorError, OSError) as exc:
            restored.warning = f"the restore is not recorded in the audit anchor: {exc}"
        return restored
    finally:
        lock.release()
