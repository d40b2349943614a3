"""Issue- and task-level transitions that the unblock and maintenance rungs decide."""
from __future__ import annotations

from shiftctl.admin.briefing import remember
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action, deps_state
from shiftctl.admin.review import integration
from shiftctl.memory.store import TASK_FAILED


def activate(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    if issue.state != "planned":
        return f"skip #{issue.number}: {issue.state}"
    with rt.store.tx():
        rt.store.set_issue_state(issue.number, "active", "plan approved", approved=1)
        rt.outbox.label(issue.number, "active")
    return f"activate #{issue.number}"


def promote(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    if task.state not in ("pending", "retry"):
        return f"skip {task.ref}: {task.state}"
    rt.store.set_task_state(task, "ready", None)
    return f"ready {task.ref}"


def cancel_task(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    keyed = {t.key: t for t in rt.store.tasks(issue=task.issue)}
    if task.state != "pending" or deps_state(task, keyed) != "failed":
        return f"skip {task.ref}"
    upstream = next(d for d in task.depends_on
                    if d not in keyed or keyed[d].state in TASK_FAILED)
    state = keyed[upstream].state if upstream in keyed else "missing"
    rt.store.set_task_state(task, "cancelled", f"upstream task {upstream} ended {state}")
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
        rt.store.set_issue_state(number, "needs_human", reason[:500])
        rt.outbox.label(number, "needs_human")


def stuck(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    tasks = [t for t in rt.store.tasks(issue=issue.number) if t.plan_version == issue.plan_version]
    failed = [t for t in tasks if t.state == "needs_human"]
    done = [t for t in tasks if t.state == "done"]
    names = ", ".join(f"{t.key}" for t in failed) or "none"
    key = "-".join(f"{t.key}.{t.attempts}" for t in failed) or "x"
    _needs_human(rt, issue.number, f"waiting for a human on task(s) {names}", "stuck", key,
                 f"shiftctl cannot finish this issue without help: task(s) {names} need a "
                 f"human ({len(done)} of {len(tasks)} done). Reply `/retry TASK` once fixed, "
                 "or `/cancel`.")
    return f"needs_human #{issue.number}: {names}"


def over_budget(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    spent = rt.store.issue_cost(issue.number)
    limit = rt.config.budget.usd_per_issue
    _needs_human(rt, issue.number, f"budget exhausted: ${spent:.2f} of ${limit:.2f}", "budget",
                 f"{limit:g}", f"This issue has spent ${spent:.2f} of its ${limit:.2f} budget "
                 "(budget.usd_per_issue); shiftctl will not start more runs for it. Raise the "
                 "budget and reply `/retry TASK`, or `/cancel`.")
    return f"needs_human #{issue.number}: over budget"


def run_cap(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    cap = rt.config.limits.max_runs_per_issue
    _needs_human(rt, task.issue, f"run cap reached ({cap} runs)", "run_cap", cap,
                 f"This issue reached limits.max_runs_per_issue ({cap} runs); shiftctl stops "
                 "here. Raise the limit and reply `/retry TASK`, or `/cancel`.")
    return f"needs_human #{task.issue}: run cap"


def no_agent(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    profile = rt.config.agents.profiles[action.detail]
    reason = rt.snapshot.unusable.get(profile.name, f"profile {profile.name!r} cannot start")
    with rt.store.tx():
        rt.outbox.comment(task.issue, "no_agent", f"{task.key}:{profile.name}",
                          f"Task **{task.key}** cannot start: {reason}. Fix that (see "
                          f"`shiftctl doctor`) and reply `/retry {task.key}`.")
        rt.store.set_task_state(task, "needs_human", reason)
    return f"needs_human {task.ref}: {reason}"


def orphan(rt: CycleContext, action: Action) -> str:
    """A task marked running with no open run (a crash between two writes): run it again."""
    task = rt.task(int(action.target or 0))
    if task.state != "running":
        return f"skip {task.ref}"
    rt.store.set_task_state(task, "ready", "its run was lost; starting again",
                            attempts=max(0, task.attempts - 1))
    return f"ready {task.ref}: lost run"


def close_issue(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    with rt.store.tx():
        rt.outbox.comment(issue.number, "closed", issue.pr or 0,
                          f"Pull request #{issue.pr} was merged. Closing this issue.")
        rt.store.set_issue_state(issue.number, "closed", "PR merged")
        rt.outbox.label(issue.number, "closed")
        remember.accept(rt, issue.number)
    rt.outbox.flush()
    rt.tracker.close_issue(issue.number)
    return f"close #{issue.number}"


def closed_on_tracker(rt: CycleContext, action: Action) -> str:
    """A person closed a finished issue without merging: shiftctl's part is over."""
    issue = rt.issue(int(action.target or 0))
    with rt.store.tx():
        rt.store.set_issue_state(issue.number, "closed", "closed on the tracker")
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
                rt.store.set_task_state(t, "cancelled", f"issue cancelled: {reason}")
        rt.outbox.comment(number, "cancelled", issue.plan_version,
                          f"shiftctl stopped working on this issue: {reason}.")
        rt.store.set_issue_state(number, "cancelled", reason)
        rt.outbox.label(number, "cancelled")
    return f"cancel #{number}: {reason}"


def cancel_issue_action(rt: CycleContext, action: Action) -> str:
    return cancel_issue(rt, int(action.target or 0), action.detail or "cancelled")
