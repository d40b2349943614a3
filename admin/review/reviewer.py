"""The reviewer (docs/design.md §7): once the deterministic checks pass, a read-only run of
``review.judge`` reads the task, its success criteria, the diff and the check results and
answers ``{"pass": bool, "findings": [...]}``. Its cost counts toward the issue.

The review rung asks ``consult`` for a verdict on a work run: it either has one (from a
finished reviewer run), starts a reviewer run and lets the task wait in ``review``, or,
after ``JUDGE_TRIES`` unusable answers, hands the task to a person.
"""
from __future__ import annotations

from typing import Any

from shiftctl.admin.briefing.prompts import render
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import available, issue_budget_left
from shiftctl.admin.planning.answers import AnswerError, json_answer, verdict
from shiftctl.admin.review.rules import Verdict
from shiftctl.admin.steps import dispatch
from shiftctl.admin.untrusted import Code
from shiftctl.memory.states import TaskState
from shiftctl.memory.store import Run, Task
from shiftctl.system import git
from shiftctl.worker.result import Result

JUDGE_TRIES = 2
DIFF_BUDGET = 60_000


def consult(rt: CycleContext, task: Task, work: Run, base: str, head: str) -> Verdict | str:
    """The reviewer's verdict on ``work``, or (as text) what happens while there is none."""
    runs = rt.store.runs_of("judge", work.id)
    for r in reversed(runs):
        if r.verdict:
            return Verdict(r.verdict == "pass", list(r.findings))
    tried = [r for r in runs if r.ended_at and r.counted]
    if len(tried) >= JUDGE_TRIES:
        why = f"the reviewer could not give a verdict {len(tried)} times; last: {tried[-1].error}"
        _to_human(rt, task, f"judge:{work.id}", why, f"Reply `/retry {task.key}` to try again.")
        return f"{task.ref}: {why}"
    if issue_budget_left(rt.snapshot, task.issue) <= 0:
        _to_human(rt, task, f"judge-budget:{work.id}",
                  "the issue's budget (budget.usd_per_issue) was spent before review",
                  f"Raise the budget and reply `/retry {task.key}`.")
        return f"{task.ref}: no budget left for the reviewer"
    profile = available(rt.snapshot, rt.config.review.judge)
    if profile is None:
        return f"{task.ref}: waits for the reviewer's cooldown"
    diff = git.out(rt.config.root, "diff", "--no-color", "--stat", "-p", base, head)
    prompt = render(rt.config, "review.md.j2", task=task, checks=work.checks, diff=Code(diff),
                    diff_budget=DIFF_BUDGET)
    run = dispatch.spawn_read(rt, kind="judge", issue=task.issue, task=task, profile=profile,
                              prompt=prompt, base_sha=head, subject=work.id,
                              attempt=len(runs) + 1)
    return f"review {task.ref}: reviewer {profile} started (run {run.id})"


def _to_human(rt: CycleContext, task: Task, key: str, why: str, then: str) -> None:
    """Work that passed its checks waits for a person: the reason, once, on the issue."""
    with rt.store.tx():
        rt.outbox.comment(task.issue, "failed", f"{task.key}:{key}",
                          f"Task **{task.key}** ({task.title}) passed its checks but needs a "
                          f"human: {why}.\n\n{then}")
        rt.store.set_task_state(task, TaskState.NEEDS_HUMAN, why[:500])


def answer(rt: CycleContext, run: Run, result: Result) -> tuple[str, str, dict[str, Any]]:
    try:
        passed, findings = verdict(json_answer(result.final_text))
    except AnswerError as exc:
        return "failed", f"unusable verdict: {exc}", {}
    return "succeeded", "", {"verdict": "pass" if passed else "fail", "findings": findings,
                             "summary": "pass" if passed else f"fail: {len(findings)} finding(s)"}
