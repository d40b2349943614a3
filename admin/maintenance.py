"""Housekeeping that never blocks progress: worktrees, WAL checkpoints."""
from __future__ import annotations

import shutil

from admin.ladder import Action
from admin.runtime import Runtime
from worker import git


def remove_worktree(rt: Runtime, action: Action) -> str:
    path = rt.paths.worktrees / str(action.target)
    git.run(rt.config.root, "worktree", "remove", "--force", str(path), check=False)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    git.run(rt.config.root, "worktree", "prune", check=False)
    return f"remove worktree {action.target}"


def checkpoint(rt: Runtime, action: Action) -> str:
    rt.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.store.put("last_checkpoint", repr(rt.now))
    return "checkpoint state.db"
