"""The agent planner (docs/design.md §6): a read-only run of ``planner.profile`` answers
with a plan.

Intake starts the run; its answer is read here when the run is collected. The plan is
checked like any other (schema, unique ids, known dependencies, no cycle, limits,
duplicates folded). An unusable answer gets one corrective run with the error in its
prompt; after that the issue goes to a person with a comment saying why. A rate-limited
planner spends no try: intake waits for the cooldown (or uses the profile's fallback).
"""
from __future__ import annotations

from typing import Any

from shiftctl.admin.briefing.prompts import render
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import available
from shiftctl.admin.planning.answers import AnswerError, json_answer, plan_tasks, rekey
from shiftctl.admin.planning.intake import adopt, checked, refuse
from shiftctl.admin.planning.plans import PlanError
from shiftctl.admin.steps import dispatch
from shiftctl.memory.store import Issue, Run
from shiftctl.system import git
from shiftctl.worker.result import Result

PLAN_TRIES = 2


def subject(issue: int, version: int) -> str:
    return f"{issue}:v{version}"


def consult(rt: CycleContext, issue: Issue, version: int) -> str:
    """Start the planner, or a corrective run, or give up: whichever is due."""
    runs = rt.store.runs_of("plan", subject(issue.number, version))
    if any(r.ended_at is None for r in runs):
        return f"plan #{issue.number}: the planner is at work"
    tried = [r for r in runs if r.counted]
    if len(tried) >= PLAN_TRIES:
        return refuse(rt, issue, version, f"the agent planner failed {len(tried)} times; "
                                          f"the last time: {tried[-1].error}")
    profile = available(rt.snapshot, rt.config.planner.profile)
    if profile is None:
        return f"plan #{issue.number}: waits for the planner's cooldown"
    base = git.rev(rt.config.root, f"refs/heads/{rt.config.base_branch}")
    if base is None:
        return refuse(rt, issue, version, f"base branch {rt.config.base_branch!r} is missing")
    prompt = render(rt.config, "plan.md.j2", issue=issue,
                    error=tried[-1].error if tried else None,
                    max_tasks=rt.config.limits.max_tasks_per_issue)
    run = dispatch.spawn_read(rt, kind="plan", issue=issue.number, task=None, profile=profile,
                              prompt=prompt, base_sha=base,
                              subject=subject(issue.number, version), attempt=len(runs) + 1)
    return f"plan #{issue.number}: planner {profile} started (run {run.id})"


def answer(rt: CycleContext, run: Run, result: Result) -> tuple[str, str, dict[str, Any]]:
    """A finished planner run: adopt its plan, or say why it cannot be used."""
    issue = rt.store.issue(run.issue)
    version = int((run.subject or "0:v0").rpartition(":v")[2])
    if issue is None or issue.state != "new" or issue.plan_version + 1 != version:
        return "succeeded", "the issue moved on before the plan arrived; not used", {}
    try:
        tasks = rekey(checked(rt, plan_tasks(json_answer(result.final_text))), version)
    except (AnswerError, PlanError) as exc:
        return "failed", f"invalid plan: {exc}", {}
    adopt(rt, issue, version, tasks, note=f" (planned by the `{run.profile}` agent)")
    return "succeeded", "", {"summary": f"plan of {len(tasks)} task(s)"}
