"""Carries out a decision: one handler per verb, each failure contained to its action."""
from __future__ import annotations

import traceback
from collections.abc import Callable

from admin import (collect, commands, dispatch, intake, lifecycle, maintenance, remember,
                   review_step)
from admin.ladder import Action, Decision
from admin.runtime import Runtime
from admin.trackers.base import TrackerError

Handler = Callable[[Runtime, Action], str]


def _repair(rt: Runtime, action: Action) -> str:
    rt.paths.ensure()
    return f"unhealthy: {action.detail}"


HANDLERS: dict[str, Handler] = {
    "repair": _repair,
    "flush": lambda rt, action: "send pending tracker writes",
    "collect": collect.collect,
    "reclaim": collect.reclaim,
    "command": commands.apply,
    "activate": lifecycle.activate,
    "promote": lifecycle.promote,
    "cancel_task": lifecycle.cancel_task,
    "orphan": lifecycle.orphan,
    "publish": lifecycle.publish,
    "finish": lifecycle.finish,
    "stuck": lifecycle.stuck,
    "over_budget": lifecycle.over_budget,
    "plan": intake.plan,
    "review": review_step.review_task,
    "spawn": dispatch.spawn,
    "no_agent": lifecycle.no_agent,
    "run_cap": lifecycle.run_cap,
    "kill": dispatch.kill,
    "close_issue": lifecycle.close_issue,
    "pr_closed": lifecycle.pr_closed,
    "cancel_issue": lifecycle.cancel_issue_action,
    "remove_worktree": maintenance.remove_worktree,
    "checkpoint": maintenance.checkpoint,
    "distil": remember.distil,
}


TASK_VERBS = {"spawn", "review", "promote", "cancel_task", "orphan", "no_agent", "run_cap"}
ISSUE_VERBS = {"plan", "finish", "publish", "stuck", "over_budget", "activate", "close_issue",
               "pr_closed", "cancel_issue"}
GIVE_UP_AFTER = 5


def _give_up(rt: Runtime, action: Action, error: str) -> str | None:
    """An action that failed ``GIVE_UP_AFTER`` times in a row parks its subject with a human,
    so one broken task or issue can never turn the loop into a crash loop."""
    key = f"action_fail:{action.verb}:{action.target}"
    count = int(rt.store.get(key, "0") or 0) + 1
    rt.store.put(key, str(count))
    if count < GIVE_UP_AFTER:
        return None
    reason = f"shiftctl could not {action.verb} it {count} times: {error}"[:500]
    with rt.store.tx():
        if action.verb in TASK_VERBS and isinstance(action.target, int):
            task = rt.store.task(action.target)
            if task is not None:
                rt.store.set_task_state(task, "needs_human", reason)
        elif action.verb in ISSUE_VERBS and isinstance(action.target, int):
            if rt.store.issue(action.target) is not None:
                rt.store.set_issue_state(action.target, "needs_human", reason)
        elif action.verb in ("collect", "reclaim", "kill"):
            run = rt.store.run(str(action.target))
            if run is not None and run.ended_at is None:
                task = rt.store.task(run.task_id) if run.task_id else None
                rt.store.finish_run(run, task, outcome="crashed", error=reason)
                if task is not None and task.state == "running":
                    rt.store.set_task_state(task, "needs_human", reason)
        elif action.verb == "command":
            cmd = next((c for c in rt.snapshot.commands if c.id == action.target), None)
            if cmd is not None:
                rt.store.mark_command(cmd, f"failed: {error}"[:500])
        else:
            return None
        rt.store.put(key, "0")
    return f"gave up on {action}: {reason}"


def execute(rt: Runtime, decision: Decision) -> tuple[list[str], list[str]]:
    """Run every action; returns (what was done, errors). Pending tracker writes go last."""
    done: list[str] = []
    errors: list[str] = []
    for action in decision.actions:
        try:
            done.append(HANDLERS[action.verb](rt, action))
            continue
        except TrackerError as exc:
            error = f"tracker: {exc}"
            rt.store.event("action.error", action=str(action), error=error)
        except Exception as exc:  # one bad action must not stop the others
            error = f"{type(exc).__name__}: {exc}"
            rt.store.event("action.error", action=str(action), error=error,
                           trace=traceback.format_exc()[-4000:])
        errors.append(f"{action}: {error}")
        if not error.startswith("tracker:"):  # an outage is waited out, not given up on
            parked = _give_up(rt, action, error)
            if parked:
                done.append(parked)
    try:
        done += rt.outbox.flush()
    except TrackerError as exc:
        errors.append(f"tracker writes: {exc}")
    return done, errors
