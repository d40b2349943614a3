"""Tracker → state: the one read an idle cycle makes.

Only intent counts: an issue with the intake label filed by an allowed author. Comments
count only from allowed authors, and only as commands or as answers to a question a task
asked. Everything else on the tracker is ignored, whatever its text says.
"""
from __future__ import annotations

import json
import time

from shiftctl.admin.config import Config
from shiftctl.admin.tracker import markers, slash
from shiftctl.admin.tracker.base import Changes, Tracker, TrackerIssue
from shiftctl.memory import states
from shiftctl.memory.store import Issue, Store, Task

APPROVED_LABEL = "shiftctl:approved"
PRIORITIES = {"priority:critical": 2, "priority:high": 1}


def priority(labels: list[str]) -> int:
    return max((PRIORITIES.get(label, 0) for label in labels), default=0)


def labelled_by_allowed(tracker: Tracker, issue: TrackerIssue, label: str) -> bool:
    """A label is a request only when an allowed person applied it (unknown: the author)."""
    actor = tracker.label_actor(issue.number, label)
    return actor is None or tracker.is_allowed(actor)


def not_intent_reason(config: Config, tracker: Tracker, issue: TrackerIssue) -> str | None:
    """Why an issue is not intake (None: it is). Asks the tracker about people only for an
    issue that carries the intake label, so unrelated issues cost no request."""
    label = config.tracker.intake_label
    if issue.state != "open":
        return "closed"
    if label not in issue.labels:
        return f"no intake label `{label}`"
    if not tracker.is_allowed(issue.author):
        return f"its author {issue.author!r} is not an allowed author ({_who_may(config)})"
    actor = tracker.label_actor(issue.number, label)
    if actor is not None and not tracker.is_allowed(actor):
        return (f"the intake label was added by {actor!r}, who is not an allowed author "
                f"({_who_may(config)})")
    return None


def _who_may(config: Config) -> str:
    allowed = config.tracker.allowed_authors
    if allowed:
        return "tracker.allowed_authors: " + ", ".join(allowed)
    return "people with write access" if config.tracker.kind == "github" else "anyone"


def is_intent(config: Config, tracker: Tracker, issue: TrackerIssue) -> bool:
    return not_intent_reason(config, tracker, issue) is None


def worth_reporting(config: Config, issue: TrackerIssue, reason: str) -> bool:
    """Is an ignored issue worth listing? One that asked for shiftctl (it carries the intake
    label), or any open issue on the local tracker (shiftctl's own: every issue there is meant
    for it). A GitHub issue that never asked is not news."""
    if reason == "closed":
        return False
    return config.tracker.intake_label in issue.labels or config.tracker.kind == "local"


def note_ignored(config: Config, store: Store, ti: TrackerIssue, reason: str | None) -> None:
    """Keep the list of ignored issues (``status`` shows it) and record an event once per
    issue and reason; an issue that became intake, or stopped mattering, leaves the list."""
    row = store.conn.execute("SELECT reason FROM ignored_issues WHERE number = ?",
                             (ti.number,)).fetchone()
    if reason is None or not worth_reporting(config, ti, reason):
        if row is not None:
            store.conn.execute("DELETE FROM ignored_issues WHERE number = ?", (ti.number,))
        return
    now = time.time()
    if row is not None and row[0] == reason:
        store.conn.execute("UPDATE ignored_issues SET last_seen = ?, title = ? WHERE number = ?",
                           (now, ti.title[:200], ti.number))
        return
    store.conn.execute(
        "INSERT INTO ignored_issues (number, title, author, reason, first_seen, last_seen) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(number) DO UPDATE SET title = excluded.title, "
        "author = excluded.author, reason = excluded.reason, last_seen = excluded.last_seen",
        (ti.number, ti.title[:200], ti.author[:200], reason, now, now))
    store.event("issue.ignored", issue=ti.number, author=ti.author[:200], reason=reason)


def _approved(tracker: Tracker, issue: TrackerIssue, already: bool) -> int:
    return int(already or (APPROVED_LABEL in issue.labels
                           and labelled_by_allowed(tracker, issue, APPROVED_LABEL)))


def _comments(store: Store, tracker: Tracker, ti: TrackerIssue) -> None:
    question_task: Task | None = None  # the task waiting for an answer, looked up once
    looked_up = False
    for c in ti.comments:
        if (c.author == tracker.bot or markers.has_marker(c.body)
                or not tracker.is_allowed(c.author)):
            continue
        found = slash.parse(c.body)
        for i, (verb, arg) in enumerate(found):
            store.add_command(source=f"comment:{c.id}:{i}", verb=verb, issue=ti.number,
                              author=c.author, arg=arg, text=c.body[:2000])
        if found:
            continue
        if not looked_up:
            waiting = [t for t in store.tasks(issue=ti.number, states=("needs_human",))
                       if states.asked(t.reason)]
            question_task = waiting[-1] if waiting else None
            looked_up = True
        if question_task is not None:
            store.add_command(source=f"comment:{c.id}:reply", verb="reply", issue=ti.number,
                              author=c.author, arg=question_task.key, text=c.body[:20_000])


def apply_changes(config: Config, store: Store, tracker: Tracker, changes: Changes) -> int:
    """Mirror what changed into the state db; returns how many intent issues changed."""
    touched = 0
    with store.tx():
        for ti in changes.issues:
            known = store.issue(ti.number)
            if known is None:
                why = not_intent_reason(config, tracker, ti)
                note_ignored(config, store, ti, why)
                if why is not None:
                    continue
                store.add_issue(Issue(number=ti.number, title=ti.title[:1000], body=ti.body,
                                      author=ti.author, labels=ti.labels, state="new",
                                      priority=priority(ti.labels),
                                      approved=_approved(tracker, ti, False)))
            else:
                store.update_issue(ti.number, title=ti.title[:1000], body=ti.body,
                                   labels=ti.labels, tracker_state=ti.state,
                                   priority=priority(ti.labels),
                                   approved=_approved(tracker, ti, bool(known.approved)))
            touched += 1
            _comments(store, tracker, ti)
        for pr in changes.prs:
            issue = pr.issue
            owner = store.issue(issue) if issue else None
            if owner is None or (pr.head and owner.branch != pr.head):
                row = store.conn.execute("SELECT number FROM issues WHERE branch = ?",
                                         (pr.head,)).fetchone() if pr.head else None
                row = row or store.conn.execute("SELECT number FROM issues WHERE pr = ?",
                                                (pr.number,)).fetchone()
                owner = store.issue(row[0]) if row else None
            if (owner is not None and owner.pr in (None, pr.number)
                    and (owner.pr_state != pr.state or owner.pr != pr.number)):
                store.update_issue(owner.number, pr=pr.number, pr_state=pr.state)
                store.event("tracker.pr_state", issue=owner.number, pr=pr.number,
                            state=pr.state)
        if changes.cursor is not None:
            store.put("tracker_cursor", changes.cursor)
    return touched


def sync(config: Config, store: Store, tracker: Tracker) -> int:
    changes = tracker.sync(store.get("tracker_cursor"))
    return apply_changes(config, store, tracker, changes)


def remember(store: Store, tracker: Tracker) -> dict[str, object] | None:
    """After the cycle's writes: keep the tracker's cursor (its own writes are not news)
    and its quota (``status`` shows it; the cycle slows down by it). Returns the quota."""
    cursor = tracker.cursor()
    if cursor is not None and cursor != store.get("tracker_cursor"):
        store.put("tracker_cursor", cursor)
    rate = tracker.rate_status()
    if rate is not None:
        store.put("tracker_rate", json.dumps(rate))
    return rate
