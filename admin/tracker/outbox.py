"""Tracker writes that happen exactly once, also across crashes (a transactional outbox).

A handler decides a comment or a label in the same state transaction as the change it
reports (``comment``/``label`` only queue). ``flush`` then sends what is pending: before
each comment it looks for the comment's hidden marker on the tracker, so a cycle that died
after posting and before recording never posts twice.

A body may quote people and agents (a task's title, an agent's question, a check's output), so
it is cleaned (``untrusted.clean``: HTML comments, control and invisible characters removed)
before the marker is put in front: quoted text can neither hide words from the people reading
the issue nor forge a marker that would pass for one of shiftctl's writes. Secrets are the
tracker's business (``redacting``), on the way out.
"""
from __future__ import annotations

from shiftctl.admin.cycle import faults
from shiftctl.admin.tracker import markers
from shiftctl.admin.tracker.base import PullRequest, Tracker, TrackerError
from shiftctl.admin.untrusted import clean
from shiftctl.memory.store import Store

STATE_LABELS = {
    "planned": "shiftctl:planned",
    "active": "shiftctl:active",
    "needs_human": "shiftctl:needs-human",
    "done": "shiftctl:done",
}
PR_BODY_LIMIT = 65_536
COMMENT_LIMIT = 65_000


class Outbox:
    def __init__(self, store: Store, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker

    def comment(self, issue: int, kind: str, key: str | int, body: str) -> bool:
        """Queue a comment once per (kind, issue, key); True when newly queued."""
        mark = markers.marker(kind, issue, key)
        return self.store.enqueue(mark, issue=issue, kind="comment",
                                  body=fit_body(f"{mark}\n{clean(body)}",
                                                COMMENT_LIMIT))

    def label(self, issue: int, state: str) -> None:
        """Queue the label that mirrors the issue's state (the latest wish wins)."""
        self.store.enqueue(f"label:{issue}", issue=issue, kind="label",
                           body=STATE_LABELS.get(state, ""), replace=True)

    def pr_body_later(self, issue: int, body: str) -> None:
        """Queue a refresh of the issue's PR body: one pending write per issue, the latest
        text wins, and ``flush`` sends it only when it says something new."""
        self.store.enqueue(f"pr_body:{issue}", issue=issue, kind="pr_body", body=body,
                           replace=True)

    def flush(self) -> list[str]:
        """Send pending writes in order; stops at the first tracker error (retried next cycle)."""
        sent = []
        for row in self.store.pending_writes():
            key, issue, kind, body = row["key"], row["issue"], row["kind"], row["body"]
            try:
                if kind == "comment":
                    existing = self.tracker.find_comment(issue, key)
                    if existing is None:
                        posted = self.tracker.post_comment(issue, body)
                        faults.point("after_comment")
                        self.store.mark_sent(key, issue=issue, kind=kind, ref=str(posted.id),
                                             found=False)
                    else:
                        self.store.mark_sent(key, issue=issue, kind=kind, ref=str(existing.id),
                                             found=True)
                    found = markers.find(key)
                    sent.append(f"comment {found[0]} #{issue}" if found else f"comment {key}")
                elif kind == "label":
                    remove = tuple(v for v in STATE_LABELS.values() if v != body)
                    self.tracker.set_labels(issue, add=(body,) if body else (), remove=remove)
                    faults.point("after_label")
                    self.store.mark_sent(key, issue=issue, kind=kind, ref=body, found=False)
                    sent.append(f"label #{issue} {body or '(none)'}")
                elif kind == "pr_body":
                    owner = self.store.issue(issue)
                    if owner is not None and owner.pr and owner.pr_state == "open":
                        pr = self.tracker.get_pr(owner.pr)
                        if pr.state == "open":
                            self.pr_body(pr, issue, body)
                    self.store.mark_sent(key, issue=issue, kind=kind, ref="", found=False)
                    sent.append(f"pr body #{issue}")
            except TrackerError as exc:
                self.store.mark_failed(key, str(exc))
                raise
        return sent

    def pull_request(self, *, issue: int, head: str, base: str, title: str,
                     body: str) -> tuple[PullRequest, bool]:
        """The issue's PR: found by its head branch, or opened as a draft; (pr, opened_now)."""
        body = fit_body(f"{markers.marker('pr', issue, head)}\n{clean(body)}")
        existing = self.tracker.find_pr(head)
        if existing is not None and existing.state == "open":
            return existing, False
        pr = self.tracker.open_pr(head=head, base=base, title=title, body=body, draft=True,
                                  issue=issue)
        faults.point("after_open_pr")
        self.store.event("tracker.pr", issue=issue, pr=pr.number, head=head)
        return pr, True

    def pr_body(self, pr: PullRequest, issue: int, body: str) -> None:
        """Refresh the PR's body when it says something new (compared as the tracker keeps
        it: redacted)."""
        text = fit_body(f"{markers.marker('pr', issue, pr.head)}\n{clean(body)}")
        if self.tracker.redact(text) != pr.body:
            self.tracker.update_pr(pr.number, body=text)
            pr.body = self.tracker.redact(text)


def fit_body(text: str, limit: int = PR_BODY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    note = "\n\n… (truncated to fit the tracker's limit; see `shiftctl status`)"
    return text[: limit - len(note)] + note
