"""Tracker factory: the only place that knows which tracker a config names."""
from __future__ import annotations

from admin.config import Config
from admin.paths import Paths
from admin.trackers.base import (Changes, Comment, PullRequest, RateLimited, Tracker,
                                 TrackerError, TrackerIssue)

__all__ = ["Changes", "Comment", "PullRequest", "RateLimited", "Tracker", "TrackerError",
           "TrackerIssue", "open_tracker"]


def open_tracker(config: Config) -> Tracker:
    paths = Paths(config.root)
    if config.tracker.kind == "local":
        from admin.trackers.local import LocalTracker
        paths.ensure()
        return LocalTracker(paths.tracker_db, config.root, config.tracker.allowed_authors)
    if config.tracker.kind == "github":
        try:
            from admin.trackers.github import GithubTracker  # type: ignore[import-not-found]
        except ImportError as exc:
            raise TrackerError("the GitHub tracker is not available in this build") from exc
        return GithubTracker(config)  # type: ignore[no-any-return]
    raise TrackerError(f"unknown tracker kind {config.tracker.kind!r}")
