"""Tracker factory: the only place that knows which tracker a config names."""
from __future__ import annotations

from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.base import (
    Changes,
    Comment,
    KeyValue,
    MemoryKV,
    PullRequest,
    PushRejected,
    RateLimited,
    Tracker,
    TrackerError,
    TrackerIssue,
)

__all__ = [
    "Changes",
    "Comment",
    "KeyValue",
    "MemoryKV",
    "PullRequest",
    "PushRejected",
    "RateLimited",
    "Tracker",
    "TrackerError",
    "TrackerIssue",
    "cached_kv",
    "open_tracker",
]

CACHE_PREFIX = "tracker:"


def open_tracker(config: Config, kv: KeyValue | None = None) -> Tracker:
    """The configured tracker; ``kv`` keeps its caches (the state store inside a cycle)."""
    paths = Paths(config.root)
    if config.tracker.kind == "local":
        from shiftctl.admin.tracker.local import LocalTracker
        paths.ensure()
        return LocalTracker(paths.tracker_db, config.root, config.tracker.allowed_authors)
    if config.tracker.kind == "github":
        from shiftctl.admin.tracker.github.tracker import GithubTracker
        return GithubTracker(config, kv if kv is not None else cached_kv(paths))
    raise TrackerError(f"unknown tracker kind {config.tracker.kind!r}")


def cached_kv(paths: Paths) -> MemoryKV:
    """A copy of the trackers' caches from the state db, for processes that must not write
    state (nap, doctor): they read what the cycle learned and forget what they learn."""
    import sqlite3

    from shiftctl.memory.db import StateError
    from shiftctl.memory.store import Store
    try:
        store = Store.open(paths.state_db, readonly=True)
    except (StateError, sqlite3.Error):
        return MemoryKV()
    try:
        rows = store.conn.execute("SELECT key, value FROM kv WHERE key LIKE ?",
                                  (CACHE_PREFIX + "%",)).fetchall()
        return MemoryKV({r[0]: r[1] for r in rows})
    finally:
        store.close()
