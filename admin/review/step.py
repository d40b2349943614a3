"""The review rung: judge a finished task, then merge it or send it back with findings."""
from __future__ import annotations

from shiftctl.admin.briefing import remember
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.paths import task_branch
from shiftctl.admin.review import integration
from shiftctl.admin.review.rules import Verdict, gather, policy_of, verdict
from shiftctl.admin.steps.collect import settle
from shiftctl.system import git


def review_task(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    if task.state != "review":
        return f"skip {task.ref}: {task.state}"
    runs = [r for r in rt.store.runs(task_id=task.id) if r.kind == "work" and r.ended_at]
    run = runs[-1]
    root = rt.config.root
    head = git.rev(root, f"refs/heads/{task_branch(task.issue, task.key)}")
    base = run.base_sha or ""
    if head is None or not base:
        v = Verdict(False, ["the task branch or its base is missing"])
    else:
        facts = gather(root, base, head, run.checks)
        v = verdict(facts, policy_of(rt.config), task.paths)
        if v.passed and rt.config.review.judge:  # the reviewer only sees work that passed
            from shiftctl.admin.review.reviewer import consult
            judged = consult(rt, task, run, base, head)
            if isinstance(judged, str):
                return judged
            v = judged
    if v.passed:
        merged, info = integration.merge_task(rt, task, head)
        if not merged:
            v = Verdict(False, [info])
    if not v.passed:
        reason = v.findings[0].splitlines()[0].rstrip(":")
        first = reason if reason.startswith("merge conflict") else f"review: {reason}"
        with rt.store.tx():  # the verdict, the episode and the task's next state: one change
            rt.store.update_run(run.id, findings=v.findings, outcome="rejected", error=first)
            run.findings, run.outcome, run.error = v.findings, "rejected", first
            return "reject " + settle(rt, task, run, "rejected", first)
    issue = rt.issue(task.issue)
    with rt.store.tx():
        rt.outbox.comment(task.issue, "merged", task.key,
                          f"Merged task **{task.key}** ({task.title}) into `{issue.branch}` "
                          f"after {task.attempts} attempt(s), ${task.cost_usd:.2f}.")
        rt.store.set_task_state(task, "done", None)
        remember.record_merge(rt, run)
    integration.publish(rt, issue)
    return f"merge {task.ref} into {issue.branch}"
