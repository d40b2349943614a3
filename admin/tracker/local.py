"""The embedded tracker: issues, comments and pull requests in ``tracker.db``, outside
``.shiftctl/`` (``Paths.tracker_db``: it is the user's data, docs/design.md §2).

It stands in for GitHub on one machine, so it behaves like one: a global change sequence
(the cursor), comments with authors, PRs whose merge is a real ``git merge``. Humans write
to it from the CLI while the admin writes from the loop, so it uses SQLite's rollback
journal (not WAL) and a busy timeout: several writers, no WAL-reset hazard.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shiftctl.admin.tracker.base import (
    Changes,
    Comment,
    PullRequest,
    Tracker,
    TrackerError,
    TrackerIssue,
)
from shiftctl.memory.db import connect, transaction

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS issues (
        number INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'open', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        seq INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS issues_seq ON issues(seq)",
    """CREATE TABLE IF NOT EXISTS comments (
        id INTEGER PRIMARY KEY, issue INTEGER NOT NULL, author TEXT NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL, seq INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS comments_issue ON comments(issue, seq)",
    """CREATE TABLE IF NOT EXISTS prs (
        number INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
        head TEXT NOT NULL, base TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open',
        draft INTEGER NOT NULL DEFAULT 1, issue INTEGER, merge_sha TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS prs_seq ON prs(seq)",
    "CREATE INDEX IF NOT EXISTS prs_head ON prs(head)",
    """CREATE TABLE IF NOT EXISTS label_events (
        id INTEGER PRIMARY KEY, issue INTEGER NOT NULL, label TEXT NOT NULL,
        action TEXT NOT NULL, created_at TEXT NOT NULL)""",
]


def _iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts or time.time(), UTC).isoformat(timespec="seconds")


class LocalTracker(Tracker):
    kind = "local"
    bot = "shiftctl"

    def __init__(self, path: Path, repo: Path | None = None,
                 allowed_authors: Sequence[str] = ()) -> None:
        self.path = path
        self.repo = repo or path.parent.parent
        self.allowed = tuple(allowed_authors)
        self.requests = 0
        try:
            self.conn = connect(path, wal=False)
            with transaction(self.conn):
                for stmt in SCHEMA:
                    self.conn.execute(stmt)
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0)")
                self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('number', 0)")
        except sqlite3.Error as exc:
            raise TrackerError(f"local tracker {path}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    # -- plumbing ----------------------------------------------------------------------
    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self.requests += 1
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise TrackerError(f"local tracker: {exc}") from exc

    def _bump(self, key: str = "seq") -> int:
        self.conn.execute("UPDATE meta SET value = value + 1 WHERE key = ?", (key,))
        return int(self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _write(self) -> Any:
        self.requests += 1
        return transaction(self.conn)

    @staticmethod
    def _issue(row: sqlite3.Row, comments: list[Comment] | None = None) -> TrackerIssue:
        return TrackerIssue(number=row["number"], title=row["title"], body=row["body"],
                            author=row["author"], labels=json.loads(row["labels"]),
                            state=row["state"], comments=comments or [],
                            updated_at=row["updated_at"])

    @staticmethod
    def _comment(row: sqlite3.Row) -> Comment:
        return Comment(id=row["id"], author=row["author"], body=row["body"],
                       created_at=row["created_at"])

    @staticmethod
    def _pr(row: sqlite3.Row) -> PullRequest:
        return PullRequest(number=row["number"], title=row["title"], head=row["head"],
                           base=row["base"], state=row["state"], draft=bool(row["draft"]),
                           issue=row["issue"], body=row["body"], url=f"local:pr/{row['number']}")

    def _touch_issue(self, number: int) -> None:
        seq = self._bump()
        self.conn.execute("UPDATE issues SET seq = ?, updated_at = ? WHERE number = ?",
                          (seq, _iso(), number))

    # -- what the admin uses -----------------------------------------------------------
    def sync(self, cursor: str | None) -> Changes:
        since = int(cursor) if cursor and cursor.isdigit() else 0
        head = int(self._q("SELECT value FROM meta WHERE key = 'seq'")[0][0])
        if head <= since:
            return Changes([], [], str(head))
        issues = []
        for row in self._q("SELECT * FROM issues WHERE seq > ? ORDER BY number", (since,)):
            comments = [self._comment(c) for c in self._q(
                "SELECT * FROM comments WHERE issue = ? AND seq > ? ORDER BY id",
                (row["number"], since))]
            issues.append(self._issue(row, comments))
        prs = [self._pr(r) for r in self._q("SELECT * FROM prs WHERE seq > ? ORDER BY number",
                                            (since,))]
        return Changes(issues, prs, str(head))

    def get_issue(self, number: int) -> TrackerIssue:
        rows = self._q("SELECT * FROM issues WHERE number = ?", (number,))
        if not rows:
            raise TrackerError(f"no issue #{number}")
        comments = [self._comment(c) for c in
                    self._q("SELECT * FROM comments WHERE issue = ? ORDER BY id", (number,))]
        return self._issue(rows[0], comments)

    def find_comment(self, number: int, marker: str) -> Comment | None:
        rows = self._q("SELECT * FROM comments WHERE issue = ? AND instr(body, ?) > 0 "
                       "ORDER BY id LIMIT 1", (number, marker))
        return self._comment(rows[0]) if rows else None

    def post_comment(self, number: int, body: str, author: str | None = None) -> Comment:
        with self._write():
            if not self.conn.execute("SELECT 1 FROM issues WHERE number = ?", (number,)).fetchone():
                raise TrackerError(f"no issue #{number}")
            self._touch_issue(number)
            seq = self.conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
            cur = self.conn.execute("INSERT INTO comments (issue, author, body, created_at, seq) "
                                    "VALUES (?, ?, ?, ?, ?)",
                                    (number, author or self.bot, body, _iso(), seq))
            row = self.conn.execute("SELECT * FROM comments WHERE id = ?",
                                    (cur.lastrowid,)).fetchone()
        return self._comment(row)

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        with self._write():
            self.conn.execute("UPDATE comments SET body = ? WHERE id = ?", (body, comment_id))
            self._touch_issue(number)

    def set_labels(self, number: int, add: tuple[str, ...] = (),
                   remove: tuple[str, ...] = ()) -> None:
        with self._write():
            row = self.conn.execute("SELECT labels FROM issues WHERE number = ?",
                                    (number,)).fetchone()
            if row is None:
                raise TrackerError(f"no issue #{number}")
            old = json.loads(row[0])
            labels = [x for x in old if x not in remove]
            labels += [x for x in add if x not in labels]
            if labels == old:
                return
            self.conn.execute("UPDATE issues SET labels = ? WHERE number = ?",
                              (json.dumps(labels), number))
            now = _iso()  # the issue's timeline, like GitHub's labeled/unlabeled events
            for label in labels:
                if label not in old:
                    self.conn.execute("INSERT INTO label_events (issue, label, action, created_at) "
                                      "VALUES (?, ?, 'added', ?)", (number, label, now))
            for label in old:
                if label not in labels:
                    self.conn.execute("INSERT INTO label_events (issue, label, action, created_at) "
                                      "VALUES (?, ?, 'removed', ?)", (number, label, now))
            self._touch_issue(number)

    def close_issue(self, number: int) -> None:
        self.edit_issue(number, state="closed")

    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> None:
        if state not in (None, "open", "closed"):
            raise TrackerError(f"an issue is open or closed, not {state!r}")
        if title is not None and not title.strip():
            raise TrackerError("an issue needs a title")
        changes = {k: v for k, v in (("title", title), ("body", body), ("state", state))
                   if v is not None}
        with self._write():
            if not self.conn.execute("SELECT 1 FROM issues WHERE number = ?", (number,)).fetchone():
                raise TrackerError(f"no issue #{number}")
            for column, value in changes.items():  # column names from the fixed list above
                self.conn.execute(f"UPDATE issues SET {column} = ? WHERE number = ?",
                                  (value, number))
            self._touch_issue(number)

    def find_pr(self, head: str) -> PullRequest | None:
        rows = self._q("SELECT * FROM prs WHERE head = ? ORDER BY (state = 'open') DESC, "
                       "number DESC LIMIT 1", (head,))
        return self._pr(rows[0]) if rows else None

    def get_pr(self, number: int) -> PullRequest:
        rows = self._q("SELECT * FROM prs WHERE number = ?", (number,))
        if not rows:
            raise TrackerError(f"no pull request #{number}")
        return self._pr(rows[0])

    def open_pr(self, *, head: str, base: str, title: str, body: str, draft: bool,
                issue: int | None) -> PullRequest:
        with self._write():
            number = self._bump("number")
            seq = self._bump()
            now = _iso()
            self.conn.execute("INSERT INTO prs (number, title, body, head, base, draft, issue, "
                              "created_at, updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              (number, title, body, head, base, int(draft), issue, now, now, seq))
        return self.get_pr(number)

    def update_pr(self, number: int, *, body: str | None = None, draft: bool | None = None,
                  title: str | None = None) -> None:
        changes: dict[str, Any] = {}
        if body is not None:
            changes["body"] = body
        if draft is not None:
            changes["draft"] = int(draft)
        if title is not None:
            changes["title"] = title
        if not changes:
            return
        with self._write():
            seq = self._bump()
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.conn.execute(f"UPDATE prs SET {sets}, seq = ?, updated_at = ? WHERE number = ?",
                              (*changes.values(), seq, _iso(), number))

    def push(self, repo: Path, branch: str, sha: str | None = None) -> None:
        return None  # the local tracker reads branches straight from the repository

    def is_allowed(self, author: str) -> bool:
        return author != self.bot and (not self.allowed or author in self.allowed)

    def critical_since(self, cursor: str | None, label: str) -> bool:
        since = int(cursor) if cursor and cursor.isdigit() else 0
        rows = self._q("SELECT labels, author FROM issues WHERE seq > ? AND state = 'open' "
                       "AND labels LIKE '%priority:critical%'", (since,))
        return any(label in json.loads(r[0]) and self.is_allowed(r[1]) for r in rows)

    # -- what people use (the CLI) -----------------------------------------------------
    def new_issue(self, title: str, body: str, labels: Sequence[str], author: str) -> TrackerIssue:
        with self._write():
            number = self._bump("number")
            seq = self._bump()
            now = _iso()
            self.conn.execute("INSERT INTO issues (number, title, body, author, labels, state, "
                              "created_at, updated_at, seq) "
                              "VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                              (number, title, body, author, json.dumps(list(dict.fromkeys(labels))),
                               now, now, seq))
        return self.get_issue(number)

    def list_issues(self, state: str | None = "open") -> list[TrackerIssue]:
        if state in (None, "all"):
            rows = self._q("SELECT * FROM issues ORDER BY number")
        else:
            rows = self._q("SELECT * FROM issues WHERE state = ? ORDER BY number", (state,))
        return [self._issue(r) for r in rows]

    def label_history(self, number: int) -> list[tuple[str, str]]:
        return [(r["action"], r["label"]) for r in self._q(
            "SELECT action, label FROM label_events WHERE issue = ? ORDER BY id", (number,))]

    def list_prs(self, state: str | None = None) -> list[PullRequest]:
        if state in (None, "all"):
            rows = self._q("SELECT * FROM prs ORDER BY number")
        else:
            rows = self._q("SELECT * FROM prs WHERE state = ? ORDER BY number", (state,))
        return [self._pr(r) for r in rows]

    def close_pr(self, number: int) -> None:
        with self._write():
            seq = self._bump()
            self.conn.execute("UPDATE prs SET state = 'closed', seq = ?, updated_at = ? "
                              "WHERE number = ? AND state = 'open'", (seq, _iso(), number))

    def merge_pr(self, number: int) -> str:
        """A real ``git merge --no-ff`` of the head branch into the base branch."""
        pr = self.get_pr(number)
        if pr.state != "open":
            raise TrackerError(f"pull request #{number} is {pr.state}")
        if pr.draft:
            raise TrackerError(f"pull request #{number} is a draft; it is not ready to merge")
        from shiftctl.admin.tracker.local_merge import merge_branch  # git: only to merge
        sha = merge_branch(self.repo, pr.head, pr.base,
                           f"Merge pull request #{number} from {pr.head}\n\n{pr.title}")
        with self._write():
            seq = self._bump()
            self.conn.execute("UPDATE prs SET state = 'merged', merge_sha = ?, seq = ?, "
                              "updated_at = ? WHERE number = ?", (sha, seq, _iso(), number))
        return sha
