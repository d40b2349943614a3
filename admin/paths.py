"""Where shiftctl keeps its files: runtime files inside the target repository (docs/design.md §2),
and the few that must outlive or stay out of reach of ``.shiftctl/`` outside it.

Outside the repository, per repository (``repo_id``):
- the audit key and anchor, ``$XDG_CONFIG_HOME/shiftctl/audit/<id>.key|.anchor`` (default
  ``~/.config``): nothing that can write ``.shiftctl/`` (an agent, a sync tool, ``git clean``)
  can forge or erase them, and a sandboxed agent does not even see them;
- state backups, ``$XDG_STATE_HOME/shiftctl/backups/<id>/`` (default ``~/.local/state``):
  they survive ``rm -rf .shiftctl`` and ``git clean -fdx``, the usual ways of losing it;
- the local tracker, ``$XDG_DATA_HOME/shiftctl/trackers/<id>/tracker.db`` (default
  ``~/.local/share``): issues, comments and PRs are the user's data, not runtime files, so
  deleting ``.shiftctl/`` must not take them. Not ``.git/``: a worker's agent writes the
  shared git dir (its commits), and could forge an allowed author's comment there; the
  sandbox shows HOME (and this directory) empty. A ``.shiftctl/tracker.db`` of an older
  version is adopted once (``ensure_tracker``) and kept beside as ``tracker.db.moved``.

``<id>`` is the repository directory's name and a hash of its resolved path. A repository
that moves gets a new id; its tracker and backups follow it (``.shiftctl/tracker.json`` says
which it used, see ``_follow``), its old audit key is still found by the key id stored on
each event (``audit verify`` reads every key in the audit directory), and a new key and
anchor start at the new place.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from shiftctl.system.fs import atomic_write, write_json


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / default


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def runtime(self) -> Path:
        return self.root / ".shiftctl"

    @property
    def state_db(self) -> Path:
        return self.runtime / "state.db"

    @property
    def tracker_dir(self) -> Path:
        return _xdg("XDG_DATA_HOME", ".local/share") / "shiftctl" / "trackers" / self.repo_id

    @property
    def tracker_db(self) -> Path:
        return self.tracker_dir / "tracker.db"

    @property
    def legacy_tracker_db(self) -> Path:
        """Where versions before issue 13 kept the local tracker."""
        return self.runtime / "tracker.db"

    @property
    def runs(self) -> Path:
        return self.runtime / "runs"

    @property
    def worktrees(self) -> Path:
        return self.runtime / "worktrees"

    @property
    def lock(self) -> Path:
        return self.runtime / "admin.lock"

    @property
    def wake(self) -> Path:
        return self.runtime / "wake"

    @property
    def stop(self) -> Path:
        return self.runtime / "STOP"

    @property
    def loop_pid(self) -> Path:
        return self.runtime / "loop.pid"

    @property
    def requests(self) -> Path:
        return self.runtime / "requests"

    @property
    def logs(self) -> Path:
        return self.runtime / "logs"

    @property
    def repo_id(self) -> str:
        resolved = str(self.root.resolve())
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.root.resolve().name)[:40] or "repo"
        return f"{name}-{hashlib.sha256(resolved.encode()).hexdigest()[:12]}"

    @property
    def audit_dir(self) -> Path:
        return _xdg("XDG_CONFIG_HOME", ".config") / "shiftctl" / "audit"

    @property
    def audit_key(self) -> Path:
        return self.audit_dir / f"{self.repo_id}.key"

    @property
    def audit_anchor(self) -> Path:
        return self.audit_dir / f"{self.repo_id}.anchor"

    @property
    def backups(self) -> Path:
        return _xdg("XDG_STATE_HOME", ".local/state") / "shiftctl" / "backups" / self.repo_id

    def run_dir(self, run_id: str) -> Path:
        return self.runs / run_id

    def task_worktree(self, issue: int, key: str) -> Path:
        return self.worktrees / f"{issue}-{key}"

    def issue_worktree(self, issue: int) -> Path:
        return self.worktrees / f"issue-{issue}"

    def read_worktree(self, run_id: str) -> Path:
        """A read-only run's detached checkout (removed by its worker when it ends)."""
        return self.worktrees / f"{READ_PREFIX}{run_id}"

    def ensure(self) -> None:
        """Create the runtime directory, git-ignored as a whole."""
        self.runtime.mkdir(parents=True, exist_ok=True)
        ignore = self.runtime / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        for d in (self.runs, self.worktrees, self.requests, self.logs):
            d.mkdir(exist_ok=True)

    @property
    def tracker_pointer(self) -> Path:
        """Which tracker directory this repository used, and where the repository was then:
        it travels with the repository, so a moved or copied one finds its issues again."""
        return self.runtime / "tracker.json"

    def ensure_tracker(self) -> Path:
        """The local tracker's file, its directory made (private). When there is none here
        yet, first what this repository used before: the tracker of its previous place (moved:
        the directory follows; copied: the copy gets a copy of it, ``_follow``), or an older
        version's ``.shiftctl/tracker.db``."""
        if not self.tracker_db.exists():
            _follow(self)
        self.tracker_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        legacy = self.legacy_tracker_db
        if legacy.is_file() and not legacy.is_symlink() and not self.tracker_db.exists():
            _adopt(legacy, self.tracker_db)
        _point(self)
        return self.tracker_db


def _follow(paths: Paths) -> None:
    """The tracker this repository used at its previous place (``.shiftctl/tracker.json``),
    brought here: the directory renamed when that place is gone (a move; the backups follow
    too), copied when it is still there (a copy: each goes on with its own). Nothing when the
    pointer is missing, damaged or names no tracker; never through a link."""
    try:
        if paths.runtime.is_symlink() or paths.tracker_pointer.is_symlink():
            return
        said = json.loads(paths.tracker_pointer.read_text(encoding="utf-8"))
        old_id, old_root = str(said["id"]), str(said["root"])
    except (OSError, ValueError, TypeError, KeyError):
        return
    if old_id == paths.repo_id or not re.fullmatch(r"[A-Za-z0-9._-]+-[0-9a-f]{12}", old_id):
        return
    old_dir = paths.tracker_dir.parent / old_id
    if old_dir.is_symlink() or not (old_dir / "tracker.db").is_file():
        return
    paths.tracker_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if Path(old_root).exists():
        how = "copied"
        paths.tracker_dir.mkdir(exist_ok=True, mode=0o700)
        _copy_db(old_dir / "tracker.db", paths.tracker_db)
    else:
        how = "moved"
        try:
            old_dir.rename(paths.tracker_dir)
        except OSError:
            return  # another process followed it first, or one was made here meanwhile
        old_backups = paths.backups.parent / old_id
        if old_backups.is_dir() and not old_backups.is_symlink() and not paths.backups.exists():
            try:
                old_backups.rename(paths.backups)
            except OSError:
                pass  # they stay where they are: `state restore PATH` takes them
    write_json(paths.tracker_dir / "origin.json",
               {"how": how, "from": old_root, "from_id": old_id, "at": time.time()})


def _point(paths: Paths) -> None:
    """Remember, with the repository, which tracker it uses and where it is."""
    want = {"id": paths.repo_id, "root": str(paths.root.resolve())}
    try:
        if paths.runtime.is_symlink() or not paths.runtime.is_dir():
            return
        if paths.tracker_pointer.is_file() and json.loads(
                paths.tracker_pointer.read_text(encoding="utf-8")) == want:
            return
    except (OSError, ValueError):
        pass
    try:
        atomic_write(paths.tracker_pointer, json.dumps(want), durable=False)
    except OSError:
        pass  # only a pointer: the next open writes it again


def _adopt(legacy: Path, target: Path) -> None:
    """Copy an older version's tracker in (``_copy_db``) and keep the old file aside (never
    deleted: it is user data)."""
    _copy_db(legacy, target)
    legacy.rename(legacy.with_name("tracker.db.moved"))


def _copy_db(source: Path, target: Path) -> None:
    """Copy a database consistently (SQLite's backup) and publish it without overwriting one
    that appeared meanwhile."""
    import sqlite3
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(part))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    try:
        os.link(part, target)  # fails if another process adopted it first: theirs stands
    except FileExistsError:
        pass
    finally:
        part.unlink(missing_ok=True)


READ_PREFIX = "read-"


def task_branch(issue: int, key: str) -> str:
    return f"shiftctl/{issue}-{key}"


def issue_branch(issue: int) -> str:
    return f"shiftctl/issue-{issue}"
