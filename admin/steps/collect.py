"""The end of a run: read what the worker left, record it, move the task on.

The run's end, the task's next state and the status comment it owes (queued in the outbox)
are one transaction: a crash leaves either all of them or none.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shiftctl.admin import humanize, launchers
from shiftctl.admin.briefing import remember
from shiftctl.admin.cycle import faults
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.cycle.outcomes import after_run
from shiftctl.admin.planning.plans import PlanError, PlannedTask, validate
from shiftctl.admin.steps import tampering as tampering_report
from shiftctl.admin.tracker.markers import run_key
from shiftctl.admin.untrusted import one_line
from shiftctl.memory.store import Run, Task, Usage
from shiftctl.worker.result import Result

COOLDOWN_STREAK = "cooldown_streak:"
COOLDOWN_MAX_DOUBLINGS = 4


def settle(rt: CycleContext, task: Task, run: Run, outcome: str, error: str, *,
           question: str = "", run_changes: dict | None = None,
           learnings: Sequence[str] = (), tampering: Sequence[dict] = ()) -> str:
    """Record the run's end (and its episode), the task's next state and its status comment:
    one transaction."""
    cfg = rt.config
    step = after_run(outcome, attempts=task.round_attempts, max_attempts=cfg.workers.max_attempts,
                     now=rt.now, error=error, question=question,
                     base=cfg.workers.backoff_base, cap=cfg.workers.backoff_cap)
    changes: dict = {"not_before": step.not_before}
    if not step.counted:
        changes["attempts"] = max(0, task.attempts - 1)
    with rt.store.tx():
        if run.ended_at is None:
            rt.store.finish_run(run, task, outcome=outcome, error=error or None,
                                counted=int(step.counted), **(run_changes or {}))
        remember.record_end(rt, task, run, learnings)
        faults.point("mid_state_change")
        if step.comment == "failed":
            tail = _failure_detail(run)
            used = humanize.spent(rt.store.usage(task.issue).get(task.id, Usage()))
            rt.outbox.comment(task.issue, "failed", f"{task.key}:{task.attempts}",
                              f"Task **{task.key}** ({task.title}) failed and needs a human: "
                              f"{step.reason}. It used {used} in {task.attempts} "
                              f"attempt(s).{tail}\n\nReply `/retry {task.key}` to try again "
                              f"(it grants {cfg.workers.max_attempts} more attempt(s)).")
        elif step.comment == "tampered":
            tampering_report.record(rt, run, tampering)
            rt.outbox.comment(task.issue, "tampered", run_key(task.key, run.attempt, run.id),
                              tampering_report.comment(
                                  f"Task **{task.key}** ({task.title})", tampering,
                                  f"Then reply `/retry {task.key}` to try again."))
        elif step.comment == "unauthenticated":
            rt.outbox.comment(task.issue, "unauthenticated",
                              run_key(task.key, run.attempt, run.id),
                              f"Task **{task.key}** ({task.title}) could not start work: the "
                              f"provider refused the credentials of agent profile "
                              f"`{run.profile}` ({error}). No attempt was spent, and no run "
                              f"starts on `{run.profile}` until this is fixed. Fix the "
                              "credentials (`shiftctl doctor` checks them, `shiftctl doctor "
                              f"--smoke` tries one run), then reply `/retry {task.key}`.")
        elif step.comment == "question":
            rt.outbox.comment(task.issue, "question", run_key(task.key, run.attempt, run.id),
                              f"Task **{task.key}** ({task.title}) has a question:\n\n> "
                              + question.replace("\n", "\n> ")
                              + "\n\nReply on this issue to answer; the task continues with "
                                f"your answer. Or reply `/retry {task.key}`.")
        rt.store.set_task_state(task, step.state, step.reason, **changes)
    return f"{task.ref}: {outcome} -> {step.state}"


def _failure_detail(run: Run) -> str:
    failing = [c for c in run.checks if not c.get("passed")]
    if failing:
        out = (failing[0].get("output") or "").strip()[-1500:]
        return f"\n\nLast output of check `{failing[0]['name']}`:\n```\n{out}\n```"
    if run.findings:
        return "\n\nReview findings:\n" + "\n".join(f"- {f[:500]}" for f in run.findings[:10])
    return ""


def ended(rt: CycleContext, run: Run) -> tuple[Result | None, str, str, dict[str, Any]]:
    """What a finished run left: (result or None, outcome, error, the run's new columns)."""
    launcher = launchers.for_run(run, rt.config, rt.paths)
    got = launcher.collect(run)
    result, problem = got.result, got.problem
    if result is None:
        launcher.end_agent(run)
    if got.imposed:  # the launcher refused what came back (a forged return): its verdict
        outcome, error = got.imposed, problem
    elif result is not None:
        outcome, error = result.outcome, result.error
    elif got.missing:
        outcome = "crashed"
        error = "the worker ended without writing result.json (crashed or killed)"
    else:
        outcome, error = "failed", f"unusable result: {problem}"
    if run.outcome in ("timed_out", "stalled", "stopped"):  # the admin killed it, and why
        outcome, error = run.outcome, run.error or outcome
    elif rt.paths.stop.exists() and outcome in ("crashed", "failed", "lost") and \
            (result is None or result.error == "attempt terminated"):
        outcome, error = "stopped", "ended by the kill switch (shiftctl stop)"
    changes: dict[str, Any] = dict(got.columns)
    if result is not None:
        changes |= {"exit_code": result.exit_code, "commits": result.commits,
                   "files_changed": result.files_changed, "checks": result.checks,
                   "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
                   "turns": turns(result.extra),
                   "cost_usd": result.cost_usd or priced(rt, run, result),
                   "summary": result.summary or None, "question": result.question or None}
    streak_key = f"{COOLDOWN_STREAK}{run.profile}"
    if outcome == "rate_limited":
        cool_down(rt, run, result.rate_limit_reset if result else None)
    elif outcome == "unauthenticated" and run.profile:
        with rt.store.tx():
            rt.store.refuse_profile(run.profile, f"{one_line(error, 300)} (run {run.id})")
            rt.store.event("agent.refused", issue=run.issue, run=run.id, profile=run.profile,
                           error=error)
    elif outcome != "stopped" and rt.store.get(streak_key) not in (None, "0"):
        rt.store.put(streak_key, "0")  # the provider answers again
    return result, outcome, error, changes


def turns(extra: dict[str, Any]) -> int:
    """The agent's turns as its stream said (Claude Code's ``num_turns``, else counted)."""
    for key in ("num_turns", "turns"):
        value = extra.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 31:
            return value
    return 0


def priced(rt: CycleContext, run: Run, result: Result) -> float:
    """The cost of an agent that reports tokens but no cost, at the profile's prices."""
    prof = rt.config.agents.profiles.get(run.profile or "")
    if prof is None:
        return 0.0
    return (result.tokens_in * prof.usd_per_mtok_in
            + result.tokens_out * prof.usd_per_mtok_out) / 1e6


def cool_down(rt: CycleContext, run: Run, reset: float | None) -> float:
    """The profile rests until the provider's reset time, or for ``workers.cooldown``
    seconds, doubled for each limit in a row (at most ``COOLDOWN_MAX_DOUBLINGS`` times)."""
    key = f"{COOLDOWN_STREAK}{run.profile}"
    streak = int(rt.store.get(key, "0") or 0)
    if reset is not None and reset > rt.now:
        until = reset
    else:
        until = rt.now + rt.config.workers.cooldown * 2 ** min(streak, COOLDOWN_MAX_DOUBLINGS)
    with rt.store.tx():
        rt.store.put(f"cooldown:{run.profile}", repr(until))
        rt.store.put(key, str(streak + 1))
        rt.store.event("agent.cooldown", issue=run.issue, run=run.id, profile=run.profile,
                       until=until, reset_given=reset is not None)
    return until


def collect(rt: CycleContext, action: Action) -> str:
    rv = rt.run_view(str(action.target))
    run, task = rv.run, rv.task
    result, outcome, error, changes = ended(rt, run)
    if run.kind == "verify":
        from shiftctl.admin.review.verify import collect_verify
        return collect_verify(rt, run, result, outcome, error, changes)
    if run.kind != "work":
        from shiftctl.admin.steps.read_runs import collect_read
        return collect_read(rt, run, task, result, outcome, error, changes)
    learnings = result.learnings if result is not None and outcome != "tampered" else []
    tampering = result.tampering if result is not None and outcome == "tampered" else []
    if task is None or task.state != "running":
        with rt.store.tx():
            if tampering:
                tampering_report.record(rt, run, tampering)
            rt.store.finish_run(run, task, outcome=outcome, error=error or None, **changes)
            remember.record_end(rt, task, run, learnings)
        return f"collect {run.id}: {outcome} (task no longer running)"
    with rt.store.tx():  # the subtasks and the end of the run that asked for them: one change
        if outcome == "needs_breakdown" and result is not None:
            refused = breakdown(rt, task, result.subtasks)
            if refused:
                outcome, error = "failed", refused
        return "collect " + settle(rt, task, run, outcome, error,
                                   question=result.question if result else "",
                                   run_changes=changes, learnings=learnings,
                                   tampering=tampering)


def reclaim(rt: CycleContext, action: Action) -> str:
    """A live worker whose lease ran out: end it and treat the attempt as failed."""
    from shiftctl.admin.steps.dispatch import terminate
    rv = rt.run_view(str(action.target))
    terminate(rv.run, config=rt.config)
    rv.run.outcome = None
    if rv.run.kind != "work" or rv.task is None or rv.task.state != "running":
        with rt.store.tx():
            rt.store.finish_run(rv.run, rv.task, outcome="crashed",
                                error=f"lease expired: {action.detail}")
            remember.record_end(rt, rv.task, rv.run)
        return f"reclaim {rv.run.id}"
    return "reclaim " + settle(rt, rv.task, rv.run, "crashed", f"lease expired: {action.detail}")


def _ancestors(rt: CycleContext, task: Task) -> list[Task]:
    out = [task]
    while out[-1].parent:
        parent = rt.store.task_by_ref(f"{task.issue}-{out[-1].parent}")
        if parent is None or parent in out:
            break
        out.append(parent)
    return out


def breakdown(rt: CycleContext, task: Task, subtasks: list[dict[str, str]]) -> str | None:
    """Add a task's subtasks under it; returns why it was refused, or None."""
    limits = rt.config.limits
    if task.depth + 1 > limits.max_depth:
        return (f"breakdown refused: task {task.key} is at depth {task.depth} and "
                f"limits.max_depth is {limits.max_depth}")
    siblings = rt.store.tasks(issue=task.issue)
    ancestors = {t.fingerprint for t in _ancestors(rt, task)}
    planned: list[PlannedTask] = []
    for i, sub in enumerate(subtasks, 1):
        p = PlannedTask(key=f"{task.key}.{i}", title=sub["title"], body=sub.get("body", ""),
                        depends_on=[planned[-1].key] if planned else list(task.depends_on),
                        paths=list(task.paths), profile=task.profile, parent=task.key,
                        depth=task.depth + 1)
        if p.fingerprint in ancestors:
            return f"breakdown refused: subtask {p.title!r} repeats the task it came from (a cycle)"
        planned.append(p)
    existing = {t.fingerprint: t.key for t in siblings if t.state != "cancelled"}
    for p in planned:  # folding it into that task could make it wait for itself
        if p.fingerprint in existing:
            return (f"breakdown refused: subtask {p.title!r} duplicates task "
                    f"{existing[p.fingerprint]}")
    try:
        planned = validate(planned, max_tasks=max(1, limits.max_tasks_per_issue - len(siblings)),
                           max_depth=limits.max_depth, existing=existing)
    except PlanError as exc:
        return f"breakdown refused: {exc}"
    from shiftctl.admin.planning.intake import add_tasks
    add_tasks(rt, task.issue, planned, plan_version=task.plan_version,
              position=task.position)
    last = planned[-1].key
    for other in siblings:
        if task.key in other.depends_on:
            deps = [last if d == task.key else d for d in other.depends_on]
            rt.store.update_task(other, depends_on=deps)
    return None
