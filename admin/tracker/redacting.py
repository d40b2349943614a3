"""The tracker as the cycle sees it: every write redacted, whoever makes it.

``open_tracker`` wraps every tracker it opens in a ``RedactingTracker``, so comments, comment
edits, pull request titles and bodies pass ``Redactor.redact`` on their way out, from the
outbox, lifecycle, integration or anything added later. The wrapper implements every abstract
method of ``Tracker`` explicitly: a new write method added to the interface leaves this class
abstract (it cannot be instantiated) until someone decides here how its text is redacted.

Reads pass through unchanged, except ``find_comment``'s marker, which is redacted the same way
the body that carries it was (see ``redact``), so an exactly-once lookup still finds it.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiftctl.admin.redact import Redactor
from shiftctl.admin.tracker.base import Changes, Comment, PullRequest, Tracker, TrackerIssue


class RedactingTracker(Tracker):
    def __init__(self, inner: Tracker, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    # -- what the inner tracker says about itself -------------------------------------------
    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.inner.kind

    @property
    def bot(self) -> str:  # type: ignore[override]
        return self.inner.bot

    @property
    def requests(self) -> int:  # type: ignore[override]
        return self.inner.requests

    # -- writes: redacted -----------------------------------------------------------------
    def post_comment(self, number: int, body: str) -> Comment:
        return self.inner.post_comment(number, self.redact(body))

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.inner.edit_comment(number, comment_id, self.redact(body))

    def open_pr(self, *, head: str, base: str, title: str, body: str, draft: bool,
                issue: int | None) -> PullRequest:
        return self.inner.open_pr(head=head, base=base, title=self.redact(title),
                                  body=self.redact(body), draft=draft, issue=issue)

    def update_pr(self, number: int, *, body: str | None = None, draft: bool | None = None,
                  title: str | None = None) -> None:
        self.inner.update_pr(number, body=None if body is None else self.redact(body),
                             draft=draft, title=None if title is None else self.redact(title))

    def set_labels(self, number: int, add: tuple[str, ...] = (),
                   remove: tuple[str, ...] = ()) -> None:
        # shiftctl's own state labels (outbox.STATE_LABELS), never free text
        self.inner.set_labels(number, add=add, remove=remove)

    def close_issue(self, number: int) -> None:
        self.inner.close_issue(number)

    def push(self, repo: Path, branch: str, sha: str | None = None) -> None:
        self.inner.push(repo, branch, sha)  # git objects: review's secret scan guards those

    def new_issue(self, title: str, body: str, labels: Sequence[str],
                  author: str) -> TrackerIssue:
        return self.inner.new_issue(self.redact(title), self.redact(body), labels, author)

    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> None:
        self.inner.edit_issue(number, title=None if title is None else self.redact(title),
                              body=None if body is None else self.redact(body), state=state)

    # -- reads: as they are -----------------------------------------------------------------
    def list_issues(self, state: str | None = "open") -> list[TrackerIssue]:
        return self.inner.list_issues(state)

    def list_prs(self, state: str | None = None) -> list[PullRequest]:
        return self.inner.list_prs(state)

    def sync(self, cursor: str | None) -> Changes:
        return self.inner.sync(cursor)

    def get_issue(self, number: int) -> TrackerIssue:
        return self.inner.get_issue(number)

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.inner.find_comment(number, self.redact(marker))

    def find_pr(self, head: str) -> PullRequest | None:
        return self.inner.find_pr(head)

    def get_pr(self, number: int) -> PullRequest:
        return self.inner.get_pr(number)

    def is_allowed(self, author: str) -> bool:
        return self.inner.is_allowed(author)

    def critical_since(self, cursor: str | None, label: str) -> bool:
        return self.inner.critical_since(cursor, label)

    def label_actor(self, number: int, label: str) -> str | None:
        return self.inner.label_actor(number, label)

    def cursor(self) -> str | None:
        return self.inner.cursor()

    def check_access(self) -> list[str]:
        return self.inner.check_access()

    def rate_status(self) -> dict[str, Any] | None:
        return self.inner.rate_status()

    def close(self) -> None:
        self.inner.close()
