"""Intake: an intent issue becomes a plan, a plan comment and queued tasks."""
from __future__ import annotations

from admin.integration import ensure_integration, set_aside_stale_branches
from admin.ladder import Action
from admin.planner import PlanError, PlannedTask, checklist_plan, plan_summary, validate
from admin.runtime import Runtime
from memory.store import Issue, Task


def make_plan(rt: Runtime, issue: Issue, version: int) -> tuple[list[PlannedTask], float]:
    """The raw plan and what producing it cost (an agent planner spends money)."""
    if rt.config.planner.kind == "agent":
        from admin.agent_planner import agent_plan  # type: ignore[import-not-found]
        return agent_plan(rt, issue, version)  # type: ignore[no-any-return]
    return checklist_plan(issue.title, issue.body, version=version), 0.0


def estimate(rt: Runtime, tasks: list[PlannedTask]) -> float:
    profiles = rt.config.agents.profiles
    return sum(profiles[t.profile or rt.config.agents.default].typical_cost_usd for t in tasks)


def add_tasks(rt: Runtime, issue: int, planned: list[PlannedTask], *, plan_version: int,
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


def plan(rt: Runtime, action: Action) -> str:
    issue = rt.issue(int(action.target or 0))
    if issue.state != "new":
        return f"skip #{issue.number}: {issue.state}"
    cfg = rt.config
    version = issue.plan_version + 1
    try:
        raw, _cost = make_plan(rt, issue, version)
        tasks = validate(raw, max_tasks=cfg.limits.max_tasks_per_issue,
                         max_depth=cfg.limits.max_depth, profiles=set(cfg.agents.profiles))
    except PlanError as exc:
        with rt.store.tx():
            rt.outbox.comment(issue.number, "plan_failed", version,
                              f"shiftctl could not plan this issue: {exc}.\n\nEdit the issue "
                              "and reply `/replan`.")
            rt.store.set_issue_state(issue.number, "needs_human", f"planning failed: {exc}"[:500],
                                     plan_version=version)
            rt.outbox.label(issue.number, "needs_human")
        return f"plan #{issue.number}: failed ({exc})"
    if issue.plan_version == 0:
        set_aside_stale_branches(rt, issue)
    ensure_integration(rt, issue)
    policy = cfg.approval.plans
    cost = estimate(rt, tasks)
    approval = policy == "always" or (policy == "over_budget" and cost > cfg.approval.over_budget_usd)
    approved = bool(issue.approved) or not approval
    state = "active" if approved else "planned"
    wait = "" if approved else (
        f"\n\nThis plan waits for approval (policy `{policy}`"
        + (f", estimated ${cost:.2f}" if policy == "over_budget" else "")
        + "): reply `/approve` or add the label `shiftctl:approved`.")
    with rt.store.tx():
        added = add_tasks(rt, issue.number, tasks, plan_version=version)
        rt.outbox.comment(issue.number, "plan", version,
                          f"shiftctl planned this issue as {len(added)} task(s) on branch "
                          f"`{issue.branch}`:\n\n{plan_summary(tasks)}{wait}")
        rt.store.set_issue_state(issue.number, state, None, plan_version=version,
                                 approved=int(approved))
        rt.outbox.label(issue.number, state)
    return f"plan #{issue.number}: {len(added)} task(s), {state}"
