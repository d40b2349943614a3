"""Intake: an intent issue becomes a plan, a plan comment and queued tasks.

The checklist planner answers at once. An agent planner is a read-only run
(``agent_planner``): intake starts it, and its answer comes back through ``adopt`` or
``refuse`` when the run is collected.
"""
from __future__ import annotations

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.planning.plans import (
    PlanError,
    PlannedTask,
    checklist_plan,
    plan_summary,
    validate,
)
from shiftctl.admin.review.integration import set_aside_stale_branches, trusted_head
from shiftctl.memory.states import IssueState
from shiftctl.memory.store import Issue, Task


def checked(rt: CycleContext, raw: list[PlannedTask]) -> list[PlannedTask]:
    """Any plan, whoever wrote it, against the configured limits (raises ``PlanError``)."""
    cfg = rt.config
    return validate(raw, max_tasks=cfg.limits.max_tasks_per_issue,
                    max_depth=cfg.limits.max_depth, profiles=set(cfg.agents.profiles))


def estimate(rt: CycleContext, tasks: list[PlannedTask]) -> float:
    profiles = rt.config.agents.profiles
    return sum(profiles[t.profile or rt.config.agents.default].typical_cost_usd for t in tasks)


def add_tasks(rt: CycleContext, issue: int, planned: list[PlannedTask], *, plan_version: int,
              position: int = 0) -> list[Task]:
    out = []
    with rt.store.tx():
        for i, p in enumerate(planned):
            task = Task(id=0, issue=issue, key=p.key, title=p.title, body=p.body,
                        state="pending", plan_version=plan_version, parent=p.parent,
                        depth=p.depth, position=position * 1000 + i + 1,
                        success_criteria=p.success_criteria, depends_on=p.depends_on,
                        paths=p.paths, profile=p.profile, fingerprint=p.fingerprint)
            task.id = rt.store.add_task(task)
            out.append(task)
    return out


def refuse(rt: CycleContext, issue: Issue, version: int, why: str) -> str:
    """The issue cannot be planned: a person is told why, and nothing runs."""
    with rt.store.tx():
        rt.outbox.comment(issue.number, "plan_failed", version,
                          f"shiftctl could not plan this issue: {why}.\n\nEdit the issue "
                          "and reply `/replan`.")
        rt.store.set_issue_state(issue.number, IssueState.NEEDS_HUMAN,
                                 f"planning failed: {why}"[:500],
                                 plan_version=version)
        rt.outbox.label(issue.number, "needs_human")
    return f"plan #{issue.number}: failed ({why})"


def adopt(rt: CycleContext, issue: Issue, version: int, tasks: list[PlannedTask],
          note: str = "") -> str:
    """A valid plan: the plan comment, the tasks, and the issue active or waiting for
    approval (by policy)."""
    cfg = rt.config
    if issue.plan_version == 0:
        set_aside_stale_branches(rt, issue)
    trusted_head(rt, issue)  # starts the branch (a held one stays held: nothing runs on it)
    policy = cfg.approval.plans
    cost = estimate(rt, tasks)
    approval = policy == "always" or (
        policy == "over_budget" and cost > cfg.approval.over_budget_usd)
    approved = bool(issue.approved) or not approval
    state = IssueState.ACTIVE if approved else IssueState.PLANNED
    wait = "" if approved else (
        f"\n\nThis plan waits for approval (policy `{policy}`"
        + (f", estimated ${cost:.2f}" if policy == "over_budget" else "")
        + "): reply `/approve` or add the label `shiftctl:approved`.")
    with rt.store.tx():
        added = add_tasks(rt, issue.number, tasks, plan_version=version)
        rt.outbox.comment(issue.number, "plan", version,
                          f"shiftctl planned this issue as {len(added)} task(s) on branch "
                          f"`{issue.branch}`{note}:\n\n{plan_summary(tasks)}{wait}")
        rt.store.set_issue_state(issue.number, state, None, plan_version=version,
                                 approved=int(approved))
        rt.outbox.label(issue.number, state)
    return f"plan #{issue.number}: {len(added)} task(s), {state}"


def plan(rt: CycleContext, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    if issue.state != "new":
        return f"skip #{issue.number}: {issue.state}"
    version = issue.plan_version + 1
    if rt.config.planner.kind == "agent":
        from shiftctl.admin.planning import agent_planner
        return agent_planner.consult(rt, issue, version)
    try:
        tasks = checked(rt, checklist_plan(issue.title, issue.body, version=version))
    except PlanError as exc:
        return refuse(rt, issue, version, str(exc))
    return adopt(rt, issue, version, tasks)
