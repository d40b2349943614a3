"""``approve``, ``retry``, ``cancel``, ``replan`` from the CLI: checked where they are given.

The CLI never writes the state db (one writer, docs/design.md §10): it reads it read-only,
refuses a target that does not exist or a verb that cannot apply in its current state (with
the reason, exit non-zero), and only then queues the request for the next cycle (``inbox``).
The cycle checks again when it applies it: the state may move in between.
"""
from __future__ import annotations

from dataclasses import dataclass

from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.memory.db import StateMissing
from shiftctl.memory.store import Issue, Store, Task

VERBS = ("approve", "retry", "cancel", "replan")
RETRYABLE = ("needs_human", "cancelled", "retry")
OVER = ("cancelled", "closed")


class Refused(Exception):
    """The command cannot apply; the message says why and what to do instead."""


@dataclass(frozen=True)
class Target:
    """What a checked command is about."""
    verb: str
    issue: int
    task: str | None = None  # ISSUE-KEY, for retry (None: the issue itself)


def parse_task(ref: str) -> tuple[int, str | None]:
    """``12-t2``: (12, "t2"); ``12``: (12, None), the issue itself (``retry`` takes both)."""
    number, dash, key = ref.strip().lstrip("#").partition("-")
    if not number.isdigit() or (dash and not key):
        raise Refused(f"{ref!r} is not a task id (expected ISSUE-KEY, e.g. 12-t2, or ISSUE)")
    return int(number), key or None


def judge(target: Target, issue: Issue | None, task: Task | None,
          keys: list[str]) -> str | None:
    """Why ``target`` cannot apply to this issue and task as they are now (None: it can).
    ``keys`` are the issue's task keys, named when the task asked for does not exist."""
    n = target.issue
    if issue is None:
        return (f"no issue #{n} is known to shiftctl: it takes up open issues that carry the "
                "intake label, filed by an allowed author, on its next cycle (see "
                "`shiftctl status`)")
    if issue.state in OVER:
        return f"issue #{n} is {issue.state}; nothing to {target.verb}"
    if target.verb == "approve" and issue.state not in ("planned", "new"):
        return f"issue #{n} is {issue.state}, not waiting for approval; nothing to approve"
    if target.verb != "retry":
        return None
    if target.task is None:  # the issue itself, as `/retry` on it
        if issue.integration_hold or issue.state == "needs_human":
            return None
        return (f"issue #{n} is {issue.state}, neither on hold nor waiting for a person; to "
                f"retry one of its tasks, name it (ISSUE-KEY, e.g. {n}-t1)")
    if task is None:
        have = ", ".join(f"{n}-{k}" for k in keys) or "none yet"
        return f"no task {target.task} (issue #{n} has: {have})"
    if task.state not in RETRYABLE and not issue.integration_hold:
        return (f"task {task.ref} is {task.state}; only a task that needs a person, failed "
                "or was cancelled can be retried")
    return None


def _look(store: Store, target: Target) -> str | None:
    issue = store.issue(target.issue)
    task = store.task_by_ref(target.task) if target.task else None
    keys = [t.key for t in store.tasks(issue=target.issue)] if target.task else []
    return judge(target, issue, task, keys)


def check(paths: Paths, target: Target) -> None:
    """Raise ``Refused`` unless ``target`` can apply to the recorded state."""
    assert target.verb in VERBS, target.verb
    try:
        store = open_reader(paths)
    except StateMissing:
        raise Refused(f"nothing has run here yet ({paths.state_db} does not exist): no issue "
                      f"#{target.issue} to {target.verb}; run `shiftctl run` first") from None
    try:
        why = _look(store, target)
    finally:
        store.close()
    if why:
        raise Refused(why)
