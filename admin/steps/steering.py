"""Human commands: ``/approve``, ``/retry TASK``, ``/cancel``, ``/replan``, answers, and
``memory add|retire`` from the CLI.

They arrive as comments from allowed authors (via sync) or from the CLI (as request files,
see ``inbox``); both end up as rows of the ``commands`` table, applied here one by one
by the unblock rung, so every path runs the same code.
"""
from __future__ import annotations

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.cycle.outcomes import dependents, retry_grant
from shiftctl.admin.steps import lessons
from shiftctl.admin.tracker.slash import VERBS as VERBS  # re-exported: the parser lives
from shiftctl.admin.tracker.slash import parse as parse  # with the sync that reads comments
from shiftctl.memory.states import IssueState, TaskState
from shiftctl.memory.store import Command, Task


def _resolve_task(rt: CycleContext, cmd: Command) -> Task | None:
    arg = cmd.arg.strip().lstrip("#")
    if "-" in arg and arg.split("-", 1)[0].isdigit():
        return rt.store.task_by_ref(arg)
    if cmd.issue is None:
        return None
    if arg:
        return rt.store.task_by_ref(f"{cmd.issue}-{arg}")
    waiting = rt.store.tasks(issue=cmd.issue, states=("needs_human",))
    return waiting[0] if len(waiting) == 1 else None


def _retry_issue(rt: CycleContext, cmd: Command) -> str | None:
    """``/retry`` of the issue itself: trust its integration branch again once it is back
    where shiftctl left it, and take up an issue parked with no task waiting for a person
    (a push refused, checks failing on the integrated branch). None: not such a case."""
    issue = rt.store.issue(cmd.issue or 0)
    if issue is None or issue.state in ("cancelled", "closed"):
        return None
    from shiftctl.admin.review.integration import release_hold
    held = bool(issue.integration_hold)
    why = release_hold(rt, issue)
    if why:
        return f"#{issue.number} stays on hold: {why}"
    if cmd.arg and not held:
        return None
    waiting = rt.store.tasks(issue=issue.number, states=("needs_human",))
    if issue.state != "needs_human" or (waiting and not held):
        return f"#{issue.number}: integration branch trusted again" if held else None
    with rt.store.tx():
        rt.store.update_issue(issue.number, verify_failures=0)
        rt.store.set_issue_state(issue.number, IssueState.ACTIVE, f"retry by {cmd.author}")
        rt.outbox.label(issue.number, "active")
    return f"#{issue.number} active again" + (": integration branch trusted again" if held
                                              else "")


def _retry(rt: CycleContext, cmd: Command, *, answer: bool = False) -> str:
    about_issue = None if answer else _retry_issue(rt, cmd)
    task = _resolve_task(rt, cmd)
    if task is None:
        if about_issue:
            return about_issue
        return f"no such task {cmd.arg!r}" if cmd.arg else "name the task: /retry TASK"
    if about_issue and "stays on hold" in about_issue:
        return about_issue
    issue = rt.issue(task.issue)
    if issue.state in ("cancelled", "closed"):
        return f"issue #{issue.number} is {issue.state}"
    if task.state not in ("needs_human", "cancelled", "retry"):
        return f"task {task.key} is {task.state}; nothing to retry"
    tasks = {t.key: t for t in rt.store.tasks(issue=task.issue)}
    revive = [tasks[k] for k in dependents({k: t.depends_on for k, t in tasks.items()}, task.key)
              if tasks[k].state == "cancelled" and (tasks[k].reason or "").startswith("upstream")]
    grant = None if answer else retry_grant(task.state, attempts=task.attempts,
                                             floor=task.attempt_floor,
                                             max_attempts=rt.config.workers.max_attempts)
    with rt.store.tx():
        if grant is None:  # an answer continues the round the question interrupted
            rt.store.set_task_state(task, TaskState.READY, "answered", not_before=None)
        else:
            rt.store.set_task_state(task, TaskState.READY,
                                    f"retry by {cmd.author}: {grant.note}",
                                    attempt_floor=grant.attempt_floor, not_before=None,
                                    rounds=task.rounds + (1 if grant.granted else 0))
            rt.outbox.comment(task.issue, "retry", f"{task.key}:{cmd.id}",
                              f"Retrying task **{task.key}** as {cmd.author} asked: it "
                              f"{grant.note}.")
            _credentials_fixed(rt, cmd)
        for t in revive:
            rt.store.set_task_state(t, TaskState.PENDING, f"revived by retry of {task.key}")
        if issue.state in ("needs_human", "done"):
            rt.store.set_issue_state(issue.number, IssueState.ACTIVE, f"retry of {task.key}")
            rt.outbox.label(issue.number, "active")
    return (f"{task.ref} ready" + (f" ({grant.note})" if grant else "")
            + (f", {len(revive)} dependent(s) revived" if revive else ""))


def _credentials_fixed(rt: CycleContext, cmd: Command) -> None:
    """A person's ``/retry`` or ``/replan`` says what parked the work is fixed: profiles whose
    credentials were refused may run again (if they are not, the next run says so, and costs
    nothing)."""
    if refused := rt.store.clear_refusals():
        rt.store.event("agent.refusal_cleared", issue=cmd.issue, profiles=refused,
                       by=cmd.author, verb=cmd.verb)


def _approve(rt: CycleContext, cmd: Command) -> str:
    issue = rt.store.issue(cmd.issue or 0)
    if issue is None:
        return "no such issue"
    if issue.state == "planned":
        with rt.store.tx():
            rt.store.set_issue_state(issue.number, IssueState.ACTIVE, f"approved by {cmd.author}",
                                     approved=1)
            rt.outbox.label(issue.number, "active")
        return f"#{issue.number} approved"
    if issue.state == "new":
        rt.store.update_issue(issue.number, approved=1)
        return f"#{issue.number} pre-approved"
    return f"#{issue.number} is {issue.state}; nothing to approve"


def _replan(rt: CycleContext, cmd: Command) -> str:
    from shiftctl.admin.steps.dispatch import terminate
    issue = rt.store.issue(cmd.issue or 0)
    if issue is None or issue.state in ("cancelled", "closed"):
        return "nothing to replan"
    for run in rt.store.open_runs():
        if run.issue == issue.number:
            rt.store.update_run(run.id, outcome="stopped", error="replanned")
            terminate(run, config=rt.config)
    from shiftctl.admin.review.integration import forget_deleted
    with rt.store.tx():
        for t in rt.store.tasks(issue=issue.number):
            if t.state not in ("done", "cancelled"):
                rt.store.set_task_state(t, TaskState.CANCELLED, f"replanned by {cmd.author}")
        forget_deleted(rt, issue)
        _credentials_fixed(rt, cmd)
        rt.store.update_issue(issue.number, verify_failures=0)
        rt.store.set_issue_state(issue.number, IssueState.NEW, f"replan requested by {cmd.author}")
    return f"#{issue.number} will be planned again"


def apply(rt: CycleContext, action: Action) -> str:
    cmd = next((c for c in rt.snapshot.commands if c.id == action.target), None)
    if cmd is None:
        return f"skip command {action.target}"
    if cmd.verb == "approve":
        result = _approve(rt, cmd)
    elif cmd.verb == "retry":
        result = _retry(rt, cmd)
    elif cmd.verb == "reply":
        result = _retry(rt, cmd, answer=True)
    elif cmd.verb == "cancel":
        from shiftctl.admin.steps.lifecycle import cancel_issue
        issue = rt.store.issue(cmd.issue or 0)
        if issue is None or issue.state in ("cancelled", "closed"):
            result = "nothing to cancel"
        else:
            result = cancel_issue(rt, issue.number, f"cancelled by {cmd.author}")
    elif cmd.verb == "replan":
        result = _replan(rt, cmd)
    elif cmd.verb in lessons.VERBS:
        result = lessons.apply(rt.store, cmd)
    else:
        result = f"unknown command {cmd.verb!r}"
    rt.store.mark_command(cmd, result)
    return f"/{cmd.verb} {cmd.arg}".rstrip() + f": {result}"
