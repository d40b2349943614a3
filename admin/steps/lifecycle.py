"""Issue- and task-level transitions that the unblock and maintenance rungs decide."""
from __future__ import annotations

from collections import Counter

from shiftctl.admin.briefing import remember
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action, deps_state
from shiftctl.admin.review import integration
from shiftctl.memory import states
from shiftctl.memory.states import IssueState, TaskState
from shiftctl.memory.store import TASK_FAILED, Task


def activate(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    if issue.state != "planned":
        return f"skip #{issue.number}: {issue.state}"
    with rt.store.tx():
        rt.store.set_issue_state(issue.number, IssueState.ACTIVE, "plan approved", approved=1)
        rt.outbox.label(issue.number, "active")
    return f"activate #{issue.number}"


def promote(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    if task.state not in ("pending", "retry"):
        return f"skip {task.ref}: {task.state}"
    rt.store.set_task_state(task, TaskState.READY, None)
    return f"ready {task.ref}"


def cancel_task(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    keyed = {t.key: t for t in rt.store.tasks(issue=task.issue)}
    if task.state != "pending" or deps_state(task, keyed) != "failed":
        return f"skip {task.ref}"
    upstream = next(d for d in task.depends_on
                    if d not in keyed or keyed[d].state in TASK_FAILED)
    state = keyed[upstream].state if upstream in keyed else "missing"
    rt.store.set_task_state(task, TaskState.CANCELLED, f"upstream task {upstream} ended {state}")
    return f"cancel {task.ref}: upstream {upstream} {state}"


def finish(rt: CycleContext, action: Action) -> str:
    return integration.finish(rt, rt.issue(int(action.target or 0)))


def publish(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    pr = integration.publish(rt, issue)
    if pr is None:
        return f"skip publish #{issue.number}: {issue.integration_hold or 'not verified'}"
    return f"publish #{action.target}: PR #{pr.number}"


def _needs_human(rt: CycleContext, number: int, reason: str, kind: str, key: str | int,
                 text: str) -> None:
    with rt.store.tx():
        rt.outbox.comment(number, kind, key, text)
        rt.store.set_issue_state(number, IssueState.NEEDS_HUMAN, reason[:500])
        rt.outbox.label(number, "needs_human")


def stuck(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    tasks = [t for t in rt.store.tasks(issue=issue.number) if t.plan_version == issue.plan_version]
    failed = [t for t in tasks if t.state == "needs_human"]
    done = [t for t in tasks if t.state == "done"]
    names = ", ".join(f"{t.key}" for t in failed) or "none"
    # a round apart from the last: its tasks have spent more attempts, or made more runs
    # (questions spend none); the same round (a crash, then again) gives the same key
    ran = Counter(r.task_id for r in rt.store.runs(issue=issue.number))
    key = "-".join(f"{t.key}.{t.attempts}.{ran[t.id]}" for t in failed) or "x"
    _needs_human(rt, issue.number, f"waiting for a human on task(s) {names}", "stuck", key,
                 stuck_text(failed, len(done), len(tasks)))
    return f"needs_human #{issue.number}: {names}"


def _round_suffix(rt: CycleContext, number: int) -> str:
    """Tells an issue-level comment of a later round (after a person's ``/retry``) apart from
    the first one's; empty in the first round, so its marker is what it always was."""
    rounds = sum(t.rounds for t in rt.store.tasks(issue=number))
    return f":r{rounds}" if rounds else ""


def stuck_text(waiting: list[Task], done: int, total: int) -> str:
    """What a person must do: answer the tasks that asked a question (a reply does it, as
    their question comment says), retry the ones that failed."""
    asking = [t.key for t in waiting if states.asked(t.reason)]
    failed = [t.key for t in waiting if t.key not in asking]
    lines = [f"shiftctl cannot finish this issue without help ({done} of {total} task(s) "
             "done)."]
    if asking:
        lines.append(f"Task(s) {', '.join(asking)} asked a question (above): reply on this "
                     "issue to answer it; the task continues with your answer.")
    if failed:
        lines.append(f"Task(s) {', '.join(failed)} need a human: reply `/retry TASK` once "
                     "fixed.")
    lines.append("Or reply `/cancel`.")
    return " ".join(lines)


def over_budget(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    spent = rt.store.issue_cost(issue.number)
    limit = rt.config.budget.usd_per_issue
    _needs_human(rt, issue.number, f"budget exhausted: ${spent:.2f} of ${limit:.2f}", "budget",
                 f"{limit:g}{_round_suffix(rt, issue.number)}",
                 f"This issue has spent ${spent:.2f} of its ${limit:.2f} budget "
                 "(budget.usd_per_issue); shiftctl will not start more runs for it. Raise the "
                 "budget and reply `/retry TASK`, or `/cancel`.")
    return f"needs_human #{issue.number}: over budget"


def run_cap(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    cap = rt.config.limits.max_runs_per_issue
    _needs_human(rt, task.issue, f"run cap reached ({cap} runs)", "run_cap",
                 f"{cap}{_round_suffix(rt, task.issue)}",
                 f"This issue reached limits.max_runs_per_issue ({cap} runs); shiftctl stops "
                 "here. Raise the limit and reply `/retry TASK`, or `/cancel`.")
    return f"needs_human #{task.issue}: run cap"


def no_agent(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    profile = rt.config.agents.profiles[action.detail]
    reason = rt.snapshot.unusable.get(profile.name, f"profile {profile.name!r} cannot start")
    with rt.store.tx():
        rt.outbox.comment(task.issue, "no_agent",
                          f"{task.key}:{profile.name}" + (f":r{task.rounds}" if task.rounds
                                                          else ""),
                          f"Task **{task.key}** cannot start: {reason}. Fix that (see "
                          f"`shiftctl doctor`) and reply `/retry {task.key}`.")
        rt.store.set_task_state(task, TaskState.NEEDS_HUMAN, reason)
    return f"needs_human {task.ref}: {reason}"


def orphan(rt: CycleContext, action: Action) -> str:
    """A task marked running with no open run (a crash between two writes): run it again."""
    task = rt.task(int(action.target or 0))
    if task.state != "running":
        return f"skip {task.ref}"
    rt.store.set_task_state(task, TaskState.READY, "its run was lost; starting again",
                            attempts=max(0, task.attempts - 1))
    return f"ready {task.ref}: lost run"


def close_issue(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    with rt.store.tx():
        rt.outbox.comment(issue.number, "closed", issue.pr or 0,
                          f"Pull request #{issue.pr} was merged. Closing this issue.")
        rt.store.set_issue_state(issue.number, IssueState.CLOSED, "PR merged")
        rt.outbox.label(issue.number, "closed")
        remember.accept(rt, issue.number)
    rt.outbox.flush()
    rt.tracker.close_issue(issue.number)
    return f"close #{issue.number}"


def closed_on_tracker(rt: CycleContext, action: Action) -> str:
    """A person closed a finished issue without merging: shiftctl's part is over."""
    issue = rt.issue(int(action.target or 0))
    with rt.store.tx():
        rt.store.set_issue_state(issue.number, IssueState.CLOSED, "closed on the tracker")
        rt.outbox.label(issue.number, "closed")
    return f"closed #{issue.number} (closed on the tracker; PR #{issue.pr} left as it is)"


def pr_closed(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    _needs_human(rt, issue.number, f"PR #{issue.pr} was closed without merging", "pr_closed",
                 issue.pr or 0, f"Pull request #{issue.pr} was closed without merging. "
                 "Reply `/replan` to start over or `/cancel` to stop.")
    return f"needs_human #{issue.number}: PR closed"


def cancel_issue(rt: CycleContext, number: int, reason: str) -> str:
    from shiftctl.admin.steps.dispatch import terminate
    issue = rt.issue(number)
    for run in rt.store.open_runs():
        if run.issue == number:
            rt.store.update_run(run.id, outcome="stopped", error=f"issue cancelled: {reason}")
            terminate(run, config=rt.config)
    with rt.store.tx():
        for t in rt.store.tasks(issue=number):
            if t.state not in ("done", "cancelled"):
                rt.store.set_task_state(t, TaskState.CANCELLED, f"issue cancelled: {reason}")
        rt.outbox.comment(number, "cancelled", issue.plan_version,
                          f"shiftctl stopped working on this issue: {reason}.")
        rt.store.set_issue_state(number, IssueState.CANCELLED, reason)
        rt.outbox.label(number, "cancelled")
    return f"cancel #{number}: {reason}"


def cancel_issue_action(rt: CycleContext, action: Action) -> str:
    return cancel_issue(rt, int(action.target or 0), action.detail or "cancelled")
