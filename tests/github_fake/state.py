"""The fake repository's state, and what humans do to it (file, comment, label, merge).

Issues and pull requests share one numbering, as on GitHub; a pull request is an issue
with a ``pull`` part. Every change bumps ``updated_at`` like GitHub does, which is what
the tracker's incremental listing relies on.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from github_fake import bare

ROLES = ("none", "read", "triage", "write", "maintain", "admin")


@dataclass
class Pull:
    head: str
    base: str
    draft: bool = True
    merged_at: float | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Item:
    number: int
    id: int
    title: str
    body: str | None
    author: str
    labels: list[str]
    created_at: float
    updated_at: float
    state: str = "open"
    state_reason: str | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    comments: list[int] = field(default_factory=list)
    pull: Pull | None = None


@dataclass
class CommentRec:
    id: int
    issue: int
    author: str
    body: str
    created_at: float
    updated_at: float


@dataclass
class LabelRec:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class EventRec:
    id: int
    issue: int
    actor: str
    kind: str  # labeled | unlabeled
    label: str
    ts: float


class NotFound(Exception):
    pass


class Invalid(Exception):
    """A 422 with GitHub's message."""


class World:
    """One repository on the fake GitHub."""

    def __init__(self, owner: str, name: str, bare_repo: Path,
                 default_branch: str = "main") -> None:
        self.owner = owner
        self.name = name
        self.bare = bare_repo
        self.default_branch = default_branch
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, LabelRec] = {}
        self.items: dict[int, Item] = {}
        self.comments: dict[int, CommentRec] = {}
        self.events: list[EventRec] = []
        self._ids = itertools.count(1000)
        self._numbers = itertools.count(1)
        self.add_user(owner, "admin")

    # -- people --------------------------------------------------------------------------
    def add_user(self, login: str, role: str = "read") -> None:
        assert role in ROLES, role
        with self.lock:
            uid = self.users.get(login, {}).get("id") or next(self._ids)
            self.users[login] = {"id": uid, "role": role}

    def role(self, login: str) -> str:
        return self.users.get(login, {}).get("role", "none")

    def uid(self, login: str) -> int:
        if login not in self.users:
            self.add_user(login, "none")
        return int(self.users[login]["id"])

    # -- labels ----------------------------------------------------------------------------
    def label(self, name: str, create: bool = True) -> LabelRec:
        with self.lock:
            for rec in self.labels.values():
                if rec.name.lower() == name.lower():
                    return rec
            if not create:
                raise NotFound(name)
            rec = LabelRec(next(self._ids), name)
            self.labels[name] = rec
            return rec

    def create_label(self, name: str, color: str, description: str | None) -> LabelRec:
        with self.lock:
            if any(r.name.lower() == name.lower() for r in self.labels.values()):
                raise Invalid("Validation Failed: label already_exists")
            rec = LabelRec(next(self._ids), name, color.lstrip("#").lower(), description)
            self.labels[name] = rec
            return rec

    def update_label(self, name: str, new_name: str | None, color: str | None,
                     description: str | None) -> LabelRec:
        with self.lock:
            rec = self.label(name, create=False)
            del self.labels[rec.name]
            if new_name and new_name != rec.name:
                for item in self.items.values():
                    item.labels = [new_name if x == rec.name else x for x in item.labels]
                rec.name = new_name
            if color:
                rec.color = color.lstrip("#").lower()
            if description is not None:
                rec.description = description
            self.labels[rec.name] = rec
            return rec

    def delete_label(self, name: str) -> None:
        with self.lock:
            rec = self.label(name, create=False)
            del self.labels[rec.name]
            for item in self.items.values():
                if rec.name in item.labels:
                    item.labels.remove(rec.name)

    def add_labels(self, number: int, names: list[str], actor: str) -> None:
        with self.lock:
            item = self.item(number)
            changed = False
            for name in names:
                rec = self.label(name)
                if rec.name not in item.labels:
                    item.labels.append(rec.name)
                    self.events.append(EventRec(next(self._ids), number, actor, "labeled",
                                                rec.name, time.time()))
                    changed = True
            if changed:
                self.touch(item)

    def remove_label(self, number: int, name: str, actor: str) -> None:
        with self.lock:
            item = self.item(number)
            match = next((x for x in item.labels if x.lower() == name.lower()), None)
            if match is None:
                raise NotFound(f"Label does not exist: {name}")
            item.labels.remove(match)
            self.events.append(EventRec(next(self._ids), number, actor, "unlabeled", match,
                                        time.time()))
            self.touch(item)

    # -- issues and comments ------------------------------------------------------------------
    def item(self, number: int) -> Item:
        found = self.items.get(number)
        if found is None:
            raise NotFound(f"#{number}")
        return found

    def touch(self, item: Item, ts: float | None = None) -> None:
        item.updated_at = max(time.time() if ts is None else ts, item.updated_at)

    def file_issue(self, title: str, body: str | None = "",
                   labels: tuple[str, ...] | list[str] = (), author: str = "alice",
                   ts: float | None = None) -> int:
        """An issue as a person files it; ``ts`` backdates it (a repository with a history)."""
        with self.lock:
            now = time.time() if ts is None else ts
            number = next(self._numbers)
            self.uid(author)
            self.items[number] = Item(number, next(self._ids), title, body, author, [], now, now)
            for name in labels:
                rec = self.label(name)
                self.items[number].labels.append(rec.name)
                self.events.append(EventRec(next(self._ids), number, author, "labeled", rec.name,
                                            now))
            return number

    def comment(self, number: int, body: str, author: str = "alice") -> CommentRec:
        with self.lock:
            item = self.item(number)
            self.uid(author)
            now = time.time()
            rec = CommentRec(next(self._ids), number, author, body, now, now)
            self.comments[rec.id] = rec
            item.comments.append(rec.id)
            self.touch(item, now)
            return rec

    def edit_comment(self, cid: int, body: str) -> CommentRec:
        with self.lock:
            rec = self.comments.get(cid)
            if rec is None:
                raise NotFound(f"comment {cid}")
            rec.body = body
            rec.updated_at = time.time()
            self.touch(self.item(rec.issue), rec.updated_at)
            return rec

    def set_state(self, number: int, state: str, actor: str, reason: str | None = None) -> None:
        with self.lock:
            item = self.item(number)
            if item.state == state:
                return
            item.state = state
            item.closed_at = time.time() if state == "closed" else None
            item.closed_by = actor if state == "closed" else None
            item.state_reason = (reason or "completed") if state == "closed" else "reopened"
            self.touch(item)

    # -- pull requests ----------------------------------------------------------------------
    def open_pull(self, head: str, base: str, title: str, body: str | None, draft: bool,
                  author: str) -> Item:
        with self.lock:
            if head == base:
                raise Invalid(f"Validation Failed: No commits between {base} and {head}")
            if bare.rev(self.bare, head) is None:
                raise Invalid(f"Validation Failed: head {head!r} is not a branch")
            if bare.rev(self.bare, base) is None:
                raise Invalid(f"Validation Failed: base {base!r} is not a branch")
            for item in self.items.values():
                if item.pull and item.pull.head == head and item.state == "open":
                    raise Invalid(f"A pull request already exists for {self.owner}:{head}.")
            number = self.file_issue(title, body, (), author)
            item = self.items[number]
            item.pull = Pull(head, base, draft)
            return item

    def pulls(self) -> list[Item]:
        return [i for i in self.items.values() if i.pull is not None]

    def merge_pull(self, number: int, actor: str = "alice") -> str:
        """A person presses 'Merge': a real merge commit in the bare repository."""
        with self.lock:
            item = self.item(number)
            assert item.pull is not None and item.state == "open", "not an open pull request"
            if item.pull.draft:
                raise Invalid("Pull Request is still a draft")
            sha = bare.merge(self.bare, item.pull.head, item.pull.base,
                             f"Merge pull request #{number} from {self.owner}/{item.pull.head}",
                             actor)
            item.pull.merged_at = time.time()
            item.pull.merged_by = actor
            item.pull.merge_commit_sha = sha
            self.set_state(number, "closed", actor)
            return sha

    def set_draft(self, number: int, draft: bool) -> Item:
        with self.lock:
            item = self.item(number)
            assert item.pull is not None
            if item.pull.draft != draft:
                item.pull.draft = draft
                self.touch(item)
            return item

    # -- views for tests ------------------------------------------------------------------------
    def issue_view(self, number: int) -> dict[str, Any]:
        """The shape of ``TrackerIssue.to_dict()``, for tests shared with the local tracker."""
        from datetime import datetime
        with self.lock:
            item = self.item(number)
            return {"number": item.number, "title": item.title, "body": item.body or "",
                    "labels": list(item.labels), "author": item.author, "state": item.state,
                    "comments": [{"id": c.id, "author": c.author, "body": c.body,
                                  "created_at": datetime.fromtimestamp(
                                      c.created_at, UTC).isoformat(timespec="seconds")}
                                 for c in (self.comments[x] for x in item.comments)]}
