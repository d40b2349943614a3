"""Tracker → state: the one read an idle cycle makes.

Only intent counts: an issue with the intake label filed by an allowed author. Comments
count only from allowed authors, and only as commands or as answers to a question a task
asked. Everything else on the tracker is ignored, whatever its text says.
"""
from __future__ import annotations

from admin import commands, markers
from admin.config import Config
from admin.trackers.base import Changes, Tracker, TrackerIssue
from memory.store import Issue, Store

APPROVED_LABEL = "shiftctl:approved"
PRIORITIES = {"priority:critical": 2, "priority:high": 1}


def priority(labels: list[str]) -> int:
    return max((PRIORITIES.get(label, 0) for label in labels), default=0)


def is_intent(config: Config, tracker: Tracker, issue: TrackerIssue) -> bool:
    return (issue.state == "open" and config.tracker.intake_label in issue.labels
            and tracker.is_allowed(issue.author))


def _comments(store: Store, tracker: Tracker, ti: TrackerIssue) -> None:
    question_task = None
    for c in ti.comments:
        if c.author == tracker.bot or markers.has_marker(c.body) or not tracker.is_allowed(c.author):
            continue
        found = commands.parse(c.body)
        for i, (verb, arg) in enumerate(found):
            store.add_command(source=f"comment:{c.id}:{i}", verb=verb, issue=ti.number,
                              author=c.author, arg=arg, text=c.body[:2000])
        if found:
            continue
        if question_task is None:
            waiting = [t for t in store.tasks(issue=ti.number, states=("needs_human",))
                       if (t.reason or "").startswith("question:")]
            question_task = waiting[-1] if waiting else False
        if question_task:
            store.add_command(source=f"comment:{c.id}:reply", verb="reply", issue=ti.number,
                              author=c.author, arg=question_task.key, text=c.body[:20_000])


def apply_changes(config: Config, store: Store, tracker: Tracker, changes: Changes) -> int:
    """Mirror what changed into the state db; returns how many intent issues changed."""
    touched = 0
    with store.tx():
        for ti in changes.issues:
            known = store.issue(ti.number)
            if known is None:
                if not is_intent(config, tracker, ti):
                    continue
                store.add_issue(Issue(number=ti.number, title=ti.title[:1000], body=ti.body,
                                      author=ti.author, labels=ti.labels, state="new",
                                      priority=priority(ti.labels),
                                      approved=int(APPROVED_LABEL in ti.labels)))
            else:
                store.update_issue(ti.number, title=ti.title[:1000], body=ti.body,
                                   labels=ti.labels, tracker_state=ti.state,
                                   priority=priority(ti.labels),
                                   approved=int(bool(known.approved) or APPROVED_LABEL in ti.labels))
            touched += 1
            _comments(store, tracker, ti)
        for pr in changes.prs:
            issue = pr.issue
            owner = store.issue(issue) if issue else None
            if owner is None or owner.branch != pr.head:
                row = store.conn.execute("SELECT number FROM issues WHERE branch = ?",
                                         (pr.head,)).fetchone()
                owner = store.issue(row[0]) if row else None
            if owner is not None and (owner.pr in (None, pr.number)):
                if owner.pr_state != pr.state or owner.pr != pr.number:
                    store.update_issue(owner.number, pr=pr.number, pr_state=pr.state)
                    store.event("tracker.pr_state", issue=owner.number, pr=pr.number,
                                state=pr.state)
        if changes.cursor is not None:
            store.put("tracker_cursor", changes.cursor)
    return touched


def sync(config: Config, store: Store, tracker: Tracker) -> int:
    changes = tracker.sync(store.get("tracker_cursor"))
    return apply_changes(config, store, tracker, changes)
