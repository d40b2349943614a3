"""Tracker factory: the only place that knows which tracker a config names."""
from __future__ import annotations

import os

from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.redact import Redactor
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
from shiftctl.admin.tracker.redacting import RedactingTracker

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
    """The configured tracker, every write of it redacted (the secrets of ``os.environ`` and
    of the configured profiles); ``kv`` keeps its caches (the state store inside a cycle)."""
    return RedactingTracker(_open(config, kv), Redactor.build(config, os.environ))


def _open(config: Config, kv: KeyValue | None) -> Tracker:
    paths = Paths(config.root)
    if config.tracker.kind == "local":
        from shiftctl.admin.tracker.local import LocalTracker
        paths.ensure()
        return LocalTracker(paths.ensure_tracker(), config.root, config.tracker.allowed_authors)
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
