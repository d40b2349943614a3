"""Housekeeping that never blocks progress: worktrees, WAL checkpoints, old records."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from shiftctl.admin import backups
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.cycle.snapshot import LAST_BACKUP, LAST_CHECKPOINT
from shiftctl.system import git


def remove_worktree(rt: CycleContext, action: Action) -> str:
    """A finished worktree's files and entry; a symbolic link found there is removed as a
    link (its target untouched) and reported, once: it is gone afterwards."""
    path = rt.paths.worktrees / str(action.target)
    if path.is_symlink():
        target = os.readlink(path)
        git.remove_worktree(rt.config.root, path)
        rt.store.event("worktree.link_removed", path=str(path), target=target)
        return f"remove symbolic link {action.target} (to {target}; not followed)"
    git.remove_worktree(rt.config.root, path)
    return f"remove worktree {action.target}"


KEEP_CYCLES = 20_000
KEEP_RUN_DIRS_S = 30 * 86400
TRIM_BATCH = 200


def trim(rt: CycleContext) -> tuple[int, int]:
    """Forget old cycle records and the run directories of long-finished issues.

    Events (the audit log), runs and tasks are kept; only the bulky per-cycle rows and the
    run directories (prompts, agent logs) of closed or cancelled issues age out.
    """
    conn = rt.store.conn
    with rt.store.tx():
        cur = conn.execute("DELETE FROM cycles WHERE number <= "
                           "(SELECT MAX(number) FROM cycles) - ?", (KEEP_CYCLES,))
        cycles = cur.rowcount
    old = conn.execute(
        "SELECT runs.run_dir FROM runs JOIN issues ON issues.number = runs.issue "
        "WHERE runs.ended_at < ? AND issues.state IN ('closed', 'cancelled') "
        "AND runs.run_dir IS NOT NULL ORDER BY runs.ended_at LIMIT ?",
        (rt.now - KEEP_RUN_DIRS_S, TRIM_BATCH * 5)).fetchall()
    removed = 0
    for (run_dir,) in old:
        path = Path(run_dir)
        if path.parent != rt.paths.runs:
            continue
        if path.is_symlink():  # never emptied through: only the link goes
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            continue
        removed += 1
        if removed >= TRIM_BATCH:
            break
    return cycles, removed


def checkpoint(rt: CycleContext, action: Action) -> str:
    cycles, dirs = trim(rt)
    rt.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.store.put(LAST_CHECKPOINT, repr(rt.now))
    return f"checkpoint state.db (trimmed {cycles} cycle records, {dirs} old run dirs)"


def backup(rt: CycleContext, action: Action) -> str:
    """Copy state.db (SQLite's backup API), check the copy, then prune the oldest ones."""
    path, facts, pruned = backups.take(rt.store, rt.paths, rt.now, rt.config.memory.backup_keep)
    rt.store.put(LAST_BACKUP, repr(rt.now))
    gone = f", pruned {len(pruned)}" if pruned else ""
    return f"backup state.db to {path} ({facts.last_event} events, verified{gone})"
