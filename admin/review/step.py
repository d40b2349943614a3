"""The review rung: judge a finished task, then merge it or send it back with findings.

What is judged and what is merged is the exact commit the worker reported (the head of the
run's ``commits``), never whatever the task branch points at by then: an agent can move a
sibling's branch after that task finished, but not the commit recorded on its run.
"""
from __future__ import annotations

import re

from shiftctl.admin import humanize
from shiftctl.admin.briefing import remember
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.humanize import clip
from shiftctl.admin.paths import task_branch
from shiftctl.admin.review import integration
from shiftctl.admin.review.rules import Verdict, gather, policy_of, verdict
from shiftctl.admin.steps.collect import settle
from shiftctl.memory import states
from shiftctl.memory.states import TaskState
from shiftctl.memory.store import Run, Task, Usage
from shiftctl.system import git

SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a commit name, never a ref or an option


def reported_head(rt: CycleContext, task: Task, run: Run) -> tuple[str | None, Verdict | None]:
    """The commit the worker reported, or a failing verdict saying why there is none to
    review (missing from the repository, or not built on the attempt's base)."""
    root, base = rt.config.root, run.base_sha or ""
    head = run.commits[-1] if run.commits else None
    if head is None:
        return None, Verdict(False, ["no commits: the task claimed success but changed nothing"])
    if not SHA.fullmatch(head) or git.rev(root, head) is None:
        return None, Verdict(False, [f"the commit the worker reported ({head[:80]!r}) is not "
                                     "a commit in the repository"])
    if not base or not git.is_ancestor(root, base, head):
        return None, Verdict(False, [f"the reported commit {head[:12]} does not build on the "
                                     f"integration head the attempt started from "
                                     f"({base[:12] or 'unknown'})"])
    branch = git.rev(root, f"refs/heads/{task_branch(task.issue, task.key)}")
    if branch != head:  # reviewed and merged as reported; the branch is not trusted
        rt.store.event("review.branch_moved", issue=task.issue, task=task.ref, run=run.id,
                       reported=head, branch=branch)
    return head, None


def judge(rt: CycleContext, task: Task, run: Run, head: str) -> Verdict | str:
    """The deterministic rules, then (for work that passed them) the reviewer agent."""
    base = run.base_sha or ""
    facts = gather(rt.config.root, base, head, run.checks)
    v = verdict(facts, policy_of(rt.config), task.paths)
    if v.passed and rt.config.review.judge:  # the reviewer only sees work that passed
        from shiftctl.admin.review.reviewer import consult
        return consult(rt, task, run, base, head)
    return v


def review_task(rt: CycleContext, action: Action) -> str:
    task = rt.task(int(action.target or 0))
    if task.state != "review":
        return f"skip {task.ref}: {task.state}"
    runs = [r for r in rt.store.runs(task_id=task.id) if r.kind == "work" and r.ended_at]
    run = runs[-1]
    issue = rt.issue(task.issue)
    if issue.integration_hold:
        return f"skip {task.ref}: {issue.integration_hold}"
    head, v = reported_head(rt, task, run)
    if head is not None:
        judged = judge(rt, task, run, head)
        if isinstance(judged, str):
            return judged
        v = judged
    assert v is not None
    before = merged = ""
    if v.passed and head is not None:
        trusted = integration.trusted_head(rt, issue)
        if trusted is None:  # the branch moved: the issue is held, the task waits in review
            return f"hold {task.ref}: {issue.integration_hold}"
        before = trusted
        ok, merged = integration.merge_task(rt, task, head, before)
        if not ok:
            v = Verdict(False, [merged])
    if not v.passed or head is None:
        reason = v.findings[0].splitlines()[0].rstrip(":")
        first = reason if states.conflicted(reason) else f"review: {reason}"
        with rt.store.tx():  # the verdict, the episode and the task's next state: one change
            rt.store.update_run(run.id, findings=v.findings, outcome="rejected", error=first)
            run.findings, run.outcome, run.error = v.findings, "rejected", first
            settled = settle(rt, task, run, "rejected", first)
            return f"reject {settled}: {clip(first, 160)}"
    with rt.store.tx():  # the merge, the branch's new recorded head and the task done
        integration.record_merge(rt, issue, task, run, head, before, merged)
        used = rt.store.usage(task.issue).get(task.id, Usage())
        spent = humanize.spent(used)
        rt.outbox.comment(task.issue, "merged", task.key,
                          f"Merged task **{task.key}** ({task.title}) into `{issue.branch}` "
                          f"after {task.attempts} attempt(s): {spent}.")
        rt.store.set_task_state(task, TaskState.DONE, None)
        remember.record_merge(rt, run)
    integration.advance(rt, issue, merged, before)
    integration.publish(rt, issue)
    return f"merge {task.ref} into {issue.branch}"
