"""State backups: on schedule (time passed in), verified, pruned to the newest N, kept outside
the repository; restores under the admin lock that keep the replaced file."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from shiftctl.admin import backups
from shiftctl.admin.backups import BackupError
from shiftctl.admin.cycle.lock import AdminLock
from shiftctl.admin.cycle.main import run_cycle
from shiftctl.admin.paths import Paths
from shiftctl.memory import backup as sqlite_backup
from shiftctl.memory.store import Store

from support.project import Project

HOUR = 3600.0


def cycle_at(project: Project, now: float) -> list[str]:
    result = run_cycle(project.config, now=now)
    assert result.rung != "error", result.errors
    return result.actions


def test_backups_happen_on_schedule_verified_and_pruned(project: Project) -> None:
    project.configure(memory={"backup_interval": 2, "backup_keep": 3})
    paths = Paths(project.root)
    t0 = time.time()
    made = []
    for hours in (0, 1, 2, 2.5, 4, 6, 7, 8, 10):
        actions = cycle_at(project, t0 + hours * HOUR)
        taken = [a for a in actions if a.startswith("backup state.db")]
        if taken:
            made.append(hours)
    assert made == [2, 4, 6, 8, 10]  # every 2 h, counted from the first cycle
    kept = backups.listing(paths)
    assert len(kept) == 3  # the oldest pruned
    assert [backups.taken_at(p) for p in kept] == pytest.approx(
        [t0 + h * HOUR for h in (10, 8, 6)], abs=0.01)
    for path in kept:  # each one a sound, complete copy
        assert sqlite_backup.inspect(path, backups.KNOWN).ok
        assert not path.resolve().is_relative_to(project.root.resolve())
    assert paths.backups == Path.home() / ".local" / "state" / "shiftctl" / "backups" / \
        paths.repo_id


def test_an_idle_cycle_decides_on_backups_from_one_kv_read(project: Project,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    project.configure(memory={"backup_interval": 6})
    t0 = time.time()
    cycle_at(project, t0)

    def walked(*a: object) -> list[Path]:
        raise AssertionError("an idle cycle looked at the backups directory")

    monkeypatch.setattr(backups, "listing", walked)
    monkeypatch.setattr(backups, "newest_good", walked)
    for hours in (0.5, 3, 5.9):  # not due: (3 h is a WAL checkpoint, which is no backup)
        result = run_cycle(project.config, now=t0 + hours * HOUR)
        assert result.rung in ("sleep", "maintenance") and not result.errors, result
        assert not [a for a in result.actions if "backup" in a]


def test_an_interval_of_zero_takes_no_backups(project: Project) -> None:
    project.configure(memory={"backup_interval": 0})
    t0 = time.time()
    for days in range(3):
        assert not [a for a in cycle_at(project, t0 + days * 86400) if "backup" in a]
    assert backups.listing(Paths(project.root)) == []


def test_a_copy_that_fails_its_check_is_dropped_and_the_older_ones_kept(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.configure(memory={"backup_interval": 1, "backup_keep": 1})
    paths = Paths(project.root)
    t0 = time.time()
    cycle_at(project, t0)
    cycle_at(project, t0 + HOUR)
    (good,) = backups.listing(paths)
    real_copy = sqlite_backup.copy

    def torn_copy(src: sqlite3.Connection, dest: Path, **kw: str) -> None:
        real_copy(src, dest, **kw)
        with open(dest, "r+b") as fh:  # the disk tore the copy's second half
            fh.truncate(dest.stat().st_size // 2)

    monkeypatch.setattr(sqlite_backup, "copy", torn_copy)
    result = run_cycle(project.config, now=t0 + 2 * HOUR)
    assert any("failed its check" in e for e in result.errors), result.errors
    assert backups.listing(paths) == [good]  # not pruned in favour of a bad copy


def test_a_damaged_state_db_found_by_the_backup_stops_the_cycle_with_the_advice(
        project: Project) -> None:
    project.configure(memory={"backup_interval": 1})
    paths = Paths(project.root)
    t0 = time.time()
    cycle_at(project, t0)
    store = Store.open(paths.state_db)
    for i in range(3000):  # a log big enough that a cycle reads only its ends
        store.event("filler", i=i, text="x" * 200)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    cycle_at(project, t0 + HOUR)  # a good backup
    (good,) = backups.listing(paths)
    size = paths.state_db.stat().st_size
    with open(paths.state_db, "r+b") as fh:  # silent damage in the middle of the file
        fh.seek((size // 4096 // 2) * 4096)
        fh.write(b"\xff" * 4096)
    quiet = run_cycle(project.config, now=t0 + 1.5 * HOUR)  # unnoticed...
    assert quiet.rung != "error", quiet
    result = run_cycle(project.config, now=t0 + 2 * HOUR)  # ...until the backup checks it
    assert result.rung == "error"
    message = result.errors[0]
    assert "state.db cannot be used" in message and str(good) in message
    assert "state restore" in message
    assert backups.listing(paths) == [good]


def test_a_restore_refuses_while_a_cycle_holds_the_lock(project: Project) -> None:
    paths = Paths(project.root)
    project.cycle()
    project.cli("state", "backup")
    before = paths.state_db.read_bytes()
    lock = AdminLock(paths.lock)
    assert lock.acquire()
    try:
        with pytest.raises(BackupError, match="a cycle is running"):
            backups.restore(paths, None, time.time())
        out = project.cli("state", "restore", check=False)
        assert out.returncode == 1 and "a cycle is running" in out.stderr
    finally:
        lock.release()
    assert paths.state_db.read_bytes() == before


def test_a_restore_takes_the_newest_good_backup_and_keeps_the_old_file(
        project: Project) -> None:
    paths = Paths(project.root)
    project.cycle()
    project.cli("state", "backup")
    project.file_issue("One more", "- [ ] a\n  ```sh\n  echo a > a\n  ```\n")
    project.cycle()
    project.cli("state", "backup")
    older, newest = sorted(backups.listing(paths))
    newest.write_bytes(newest.read_bytes()[:8192])  # the newest copy rotted on disk
    damaged = b"not a database at all" * 100
    paths.state_db.write_bytes(damaged)
    done = backups.restore(paths, None, time.time())
    assert done.backup == older
    kept = [p for p in done.aside if p.name.startswith("state.db.corrupt-")
            and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # kept, never deleted
    assert not Path(f"{paths.state_db}-wal").exists()  # the old WAL went with it
    assert sqlite_backup.inspect(paths.state_db, backups.KNOWN).ok
    store = project.store()
    try:
        assert store.issue(1) is None  # the state as the older backup had it
    finally:
        store.close()
