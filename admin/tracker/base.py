"""The tracker interface: everything the admin may ask of an issue tracker.

The cycle talks to a ``Tracker`` and never learns which one. ``sync`` is the only call an
idle cycle makes; everything else happens when there is work.
"""
from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class TrackerError(Exception):
    """The tracker could not be reached or refused a request; the cycle retries later."""


class PushRejected(TrackerError):
    """The remote refused a push (authentication, permission, a protected branch, a
    non-fast-forward): trying again will not help, unlike an outage."""


class RateLimited(TrackerError):
    def __init__(self, message: str, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


@dataclass
class Comment:
    id: int
    author: str
    body: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "body": self.body,
                "created_at": self.created_at}


@dataclass
class TrackerIssue:
    number: int
    title: str
    body: str
    author: str
    labels: list[str]
    state: str  # open | closed
    comments: list[Comment] = field(default_factory=list)
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "body": self.body,
                "labels": list(self.labels), "author": self.author, "state": self.state,
                "comments": [c.to_dict() for c in self.comments]}


@dataclass
class PullRequest:
    number: int
    title: str
    head: str
    base: str
    state: str  # open | closed | merged
    draft: bool
    issue: int | None = None
    body: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "head": self.head,
                "base": self.base, "state": self.state, "draft": self.draft,
                "issue": self.issue}


@dataclass
class Changes:
    """What changed since a cursor: issues with their new comments, and pull requests."""
    issues: list[TrackerIssue]
    prs: list[PullRequest]
    cursor: str | None


class KeyValue(Protocol):
    """Where a tracker keeps small caches between cycles (bot login, permissions, labels).

    In the cycle this is the state store (its ``kv`` table: the admin holds the lock);
    elsewhere (nap, doctor) a ``MemoryKV``, so nothing but the admin ever writes state.
    """

    def get(self, key: str, default: str | None = None) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class MemoryKV:
    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.data = dict(initial or {})

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.data.get(key, default)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value


class Tracker(abc.ABC):
    kind: str = "?"
    bot: str = "shiftctl"
    requests: int = 0

    @abc.abstractmethod
    def sync(self, cursor: str | None) -> Changes:
        """Issues and PRs changed since ``cursor`` (everything open when None)."""

    @abc.abstractmethod
    def get_issue(self, number: int) -> TrackerIssue: ...

    @abc.abstractmethod
    def find_comment(self, number: int, marker: str) -> Comment | None: ...

    @abc.abstractmethod
    def post_comment(self, number: int, body: str) -> Comment: ...

    @abc.abstractmethod
    def edit_comment(self, number: int, comment_id: int, body: str) -> None: ...

    @abc.abstractmethod
    def set_labels(self, number: int, add: tuple[str, ...] = (),
                   remove: tuple[str, ...] = ()) -> None: ...

    @abc.abstractmethod
    def close_issue(self, number: int) -> None: ...

    # -- what people do from the CLI (``shiftctl issue``/``pr``), on any tracker ------------
    def new_issue(self, title: str, body: str, labels: Sequence[str],
                  author: str) -> TrackerIssue:
        """File an issue (``author`` where the tracker lets one choose; GitHub: the token's
        account)."""
        raise TrackerError(f"the {self.kind} tracker cannot file issues from shiftctl")

    def list_issues(self, state: str | None = "open") -> list[TrackerIssue]:
        raise TrackerError(f"the {self.kind} tracker cannot list issues from shiftctl")

    def list_prs(self, state: str | None = None) -> list[PullRequest]:
        raise TrackerError(f"the {self.kind} tracker cannot list pull requests from shiftctl")

    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> None:
        """Change an issue's title, text or state (``open`` reopens it)."""
        raise TrackerError(f"the {self.kind} tracker cannot edit issues from shiftctl")

    @abc.abstractmethod
    def find_pr(self, head: str) -> PullRequest | None: ...

    @abc.abstractmethod
    def get_pr(self, number: int) -> PullRequest: ...

    @abc.abstractmethod
    def open_pr(self, *, head: str, base: str, title: str, body: str, draft: bool,
                issue: int | None) -> PullRequest: ...

    @abc.abstractmethod
    def update_pr(self, number: int, *, body: str | None = None,
                  draft: bool | None = None, title: str | None = None) -> None: ...

    @abc.abstractmethod
    def push(self, repo: Path, branch: str, sha: str | None = None) -> None:
        """Make ``branch`` of ``repo`` visible to the tracker at commit ``sha`` (default: where
        the branch is); a no-op for the local one. Raises ``PushRejected`` when the remote
        refuses, ``TrackerError`` when it cannot be reached."""

    @abc.abstractmethod
    def is_allowed(self, author: str) -> bool:
        """May this author's issues and commands steer shiftctl?"""

    @abc.abstractmethod
    def critical_since(self, cursor: str | None, label: str) -> bool:
        """Is there an open intake issue labelled ``priority:critical`` newer than cursor?"""

    def label_actor(self, number: int, label: str) -> str | None:
        """Who last added ``label`` to the issue; None when the tracker does not record it
        (then the issue's author counts). A label is a request only from an allowed person."""
        return None

    def cursor(self) -> str | None:
        """The sync cursor to keep after this cycle's own writes, so the next ``sync`` does
        not take them for news (None: keep the one ``sync`` returned)."""
        return None

    def check_access(self) -> list[str]:
        """What the credentials cannot do that shiftctl needs (empty when all is well)."""
        return []

    def rate_status(self) -> dict[str, Any] | None:
        """The request quota as last seen (``limit``, ``remaining``, ``reset_at``,
        ``requests`` made by this process, ``limited_until``), or None without a quota."""
        return None

    def redact(self, text: str) -> str:
        """What this tracker makes of ``text`` it writes: the same text, unless it is wrapped
        (``open_tracker`` wraps every tracker in ``redacting.RedactingTracker``)."""
        return text

    def close(self) -> None:
        return None
