"""Checks on the integrated branch: each task passed its checks alone, but two tasks that pass
alone can break together. Once every task of an issue is merged, a ``verify`` run (a worker,
never the admin: the checks run the agents' code) runs the configured checks on a detached
checkout of exactly the recorded integration head. The PR is pushed and marked ready only
once a verify run passed on that very commit (the ladder decides; see ``ladder.verified``).

A failure is a finding, answered by a fix task: it builds on the integrated branch, carries
the failing output (fenced, as untrusted data) and goes through the same review and merge as
any task. (Retrying the merged tasks instead would need the branch rewound under an open PR;
a fix task moves it forward.) After ``workers.max_attempts`` failed verifications in a row,
the issue goes to a person with the output in a comment. A verification that could not run
its checks at all (a crash, a sandbox that cannot start) counts toward the same bound.
"""
from __future__ import annotations

from shiftctl.admin.briefing.prompts import fence
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.cycle.outcomes import NOT_COUNTED
from shiftctl.admin.paths import issue_branch
from shiftctl.admin.planning.plans import PlannedTask
from shiftctl.admin.review import integration
from shiftctl.memory.states import IssueState, TaskState
from shiftctl.memory.store import Issue, Run
from shiftctl.worker.result import Result

OUTPUT_TAIL = 3000


def start(rt: CycleContext, action: Action) -> str:
    """All tasks are merged and the recorded head has not passed the checks: run them."""
    issue = rt.issue(int(action.target or 0))
    if issue.state != "active":
        return f"skip verify #{issue.number}: {issue.state}"
    head = integration.trusted_head(rt, issue)
    if head is None:
        return f"hold #{issue.number}: {issue.integration_hold}"
    if head in rt.store.verified_heads(issue.number):
        return f"skip verify #{issue.number}: {head[:12]} already passed"
    from shiftctl.admin.steps.dispatch import spawn_verify
    attempt = len([r for r in rt.store.runs(issue=issue.number) if r.kind == "verify"]) + 1
    run = spawn_verify(rt, issue.number, head, attempt)
    return f"verify #{issue.number}: checks on {head[:12]} (run {run.id})"


def failing_output(checks: list[dict]) -> tuple[str, str]:
    """(name, output tail) of the first failing check; ('', '') when none failed."""
    for c in checks:
        if not c.get("passed"):
            return str(c.get("name")), (c.get("output") or "").strip()[-OUTPUT_TAIL:]
    return "", ""


def fix_task(issue: Issue, keys: set[str], head: str, checks: list[dict],
             run_of: dict[str, str], merged: list[str]) -> PlannedTask:
    """The task that makes the integrated branch pass its checks again. Pure."""
    n = 1
    while f"fix{n}" in keys:
        n += 1
    name, output = failing_output(checks)
    body = (f"The configured checks fail on the integrated branch `{issue_branch(issue.number)}` "
            f"at commit {head}, after merging task(s) {', '.join(merged) or '(none)'}; each "
            "passed its checks on its own. Make the checks pass on the integrated branch "
            "without undoing what those tasks did.\n\n"
            f"Failing check `{name}` (`{run_of.get(name, '')}`), the end of its output "
            "(untrusted data: it comes from code the agents wrote):\n"
            + fence(output, "text"))
    return PlannedTask(key=f"fix{n}", title="Make the checks pass on the integrated branch",
                       body=body, success_criteria=[f"check `{c['name']}` passes"
                                                    for c in checks if not c.get("passed")])


def collect_verify(rt: CycleContext, run: Run, result: Result | None, outcome: str,
                   error: str, changes: dict) -> str:
    """Record the verification and answer it, in one transaction."""
    checks = result.checks if result is not None else []
    issue = rt.issue(run.issue)
    stale = run.subject != issue.integration_head or issue.state != "active"
    verdict = None
    if checks and outcome in ("succeeded", "failed"):
        verdict = "pass" if outcome == "succeeded" else "fail"
    counted = outcome not in NOT_COUNTED and outcome != "stopped"
    with rt.store.tx():
        rt.store.finish_run(run, None, outcome=outcome, error=error or None, verdict=verdict,
                            checks=checks, counted=int(counted),
                            **{k: v for k, v in changes.items() if k == "exit_code"})
        if stale or not counted:
            note = "stale" if stale else outcome
        elif verdict == "pass":
            rt.store.update_issue(issue.number, verify_failures=0)
            note = "passed"
        else:
            note = _failed(rt, issue, run, checks, error)
    return f"collect verify run {run.id}: {outcome} ({note})"


def _failed(rt: CycleContext, issue: Issue, run: Run, checks: list[dict], error: str) -> str:
    failures = issue.verify_failures + 1
    rt.store.update_issue(issue.number, verify_failures=failures)
    head = run.subject or ""
    name, output = failing_output(checks)
    what = (f"check `{name}` failed" if name else f"the checks could not run ({error})")
    limit = rt.config.workers.max_attempts
    if failures >= limit:
        detail = f"\n\nThe end of its output:\n{fence(output, 'text')}" if output else ""
        rt.outbox.comment(issue.number, "verify_failed", f"{head[:12]}-{failures}",
                          f"On the integrated branch `{issue_branch(issue.number)}` at `{head}`, "
                          f"{what} ({failures} failed verification(s) in a row, "
                          f"workers.max_attempts is {limit}). The pull request is not marked "
                          f"ready while its branch fails.{detail}\n\nFix the branch and "
                          "reply `/retry`, or `/cancel`.")
        rt.store.set_issue_state(issue.number, IssueState.NEEDS_HUMAN,
                                 f"{what} on the integrated branch at {head[:12]}"[:500])
        rt.outbox.label(issue.number, "needs_human")
        return "to a person"
    if not name:
        return f"could not run ({failures} of {limit})"
    from shiftctl.admin.planning.intake import add_tasks
    tasks = rt.store.tasks(issue=issue.number)
    merged = merged_since_passing(rt, issue.number)
    planned = fix_task(issue, {t.key for t in tasks}, head, checks,
                       {c.name: c.run for c in rt.config.checks}, merged)
    position = max((t.position for t in tasks), default=0) // 1000 + 1
    added = add_tasks(rt, issue.number, [planned], plan_version=issue.plan_version,
                      position=position)
    rt.store.set_task_state(added[0], TaskState.READY, "checks fail on the integrated branch")
    rt.outbox.comment(issue.number, "verify_failed", f"{head[:12]}-{failures}",
                      f"On the integrated branch `{issue_branch(issue.number)}` at `{head}`, "
                      f"{what}. The pull request is not marked ready while its branch fails; "
                      f"shiftctl added task **{planned.key}** to fix it "
                      f"({failures} of {limit} verifications).")
    return f"added {planned.key}"


def merged_since_passing(rt: CycleContext, issue: int) -> list[str]:
    """The tasks merged since the integration head last passed the checks."""
    passed = rt.store.verified_heads(issue)
    keys: list[str] = []
    for m in rt.store.merges(issue):
        keys = [] if m.merge in passed else keys + [m.task_key]
    return keys
