"""Carries out a decision: one handler per verb, each failure contained to its action."""
from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable

from shiftctl.admin.briefing import PromptError
from shiftctl.admin.cycle import log
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action, Decision
from shiftctl.admin.statedb import unusable
from shiftctl.admin.tracker.base import PushRejected, TrackerError
from shiftctl.memory.states import IssueState, TaskState

Handler = Callable[[CycleContext, Action], str]


def _repair(rt: CycleContext, action: Action) -> str:
    rt.paths.ensure()
    return f"unhealthy: {action.detail}"


def _flush(rt: CycleContext, action: Action) -> str:
    return "send pending tracker writes"


# verb -> "module:function"; modules load on first use, so an idle cycle imports none of them
HANDLERS: dict[str, str] = {
    "collect": "shiftctl.admin.steps.collect:collect",
    "reclaim": "shiftctl.admin.steps.collect:reclaim",
    "command": "shiftctl.admin.steps.steering:apply",
    "activate": "shiftctl.admin.steps.lifecycle:activate",
    "promote": "shiftctl.admin.steps.lifecycle:promote",
    "cancel_task": "shiftctl.admin.steps.lifecycle:cancel_task",
    "orphan": "shiftctl.admin.steps.lifecycle:orphan",
    "publish": "shiftctl.admin.steps.lifecycle:publish",
    "finish": "shiftctl.admin.steps.lifecycle:finish",
    "verify": "shiftctl.admin.review.verify:start",
    "stuck": "shiftctl.admin.steps.lifecycle:stuck",
    "over_budget": "shiftctl.admin.steps.lifecycle:over_budget",
    "plan": "shiftctl.admin.planning.intake:plan",
    "review": "shiftctl.admin.review.step:review_task",
    "spawn": "shiftctl.admin.steps.dispatch:spawn",
    "no_agent": "shiftctl.admin.steps.lifecycle:no_agent",
    "run_cap": "shiftctl.admin.steps.lifecycle:run_cap",
    "kill": "shiftctl.admin.steps.dispatch:kill",
    "close_issue": "shiftctl.admin.steps.lifecycle:close_issue",
    "pr_closed": "shiftctl.admin.steps.lifecycle:pr_closed",
    "closed_on_tracker": "shiftctl.admin.steps.lifecycle:closed_on_tracker",
    "cancel_issue": "shiftctl.admin.steps.lifecycle:cancel_issue_action",
    "remove_worktree": "shiftctl.admin.steps.maintenance:remove_worktree",
    "checkpoint": "shiftctl.admin.steps.maintenance:checkpoint",
    "backup": "shiftctl.admin.steps.maintenance:backup",
    "distil": "shiftctl.admin.briefing.remember:distil",
}
BUILTIN: dict[str, Handler] = {"repair": _repair, "flush": _flush}
# what a failing action's target is, so that it can be parked with a human
TASK_VERBS = {"spawn", "review", "promote", "cancel_task", "orphan", "no_agent", "run_cap"}
ISSUE_VERBS = {"plan", "finish", "publish", "verify", "stuck", "over_budget", "activate",
               "close_issue", "pr_closed", "closed_on_tracker", "cancel_issue"}
GIVE_UP_AFTER = 5


def handler(verb: str) -> Handler:
    if verb in BUILTIN:
        return BUILTIN[verb]
    module, _, name = HANDLERS[verb].partition(":")
    return getattr(importlib.import_module(module), name)


def _give_up(rt: CycleContext, action: Action, error: str, *, at_once: bool = False) -> str | None:
    """An action that failed ``GIVE_UP_AFTER`` times in a row parks its subject with a human,
    so one broken task or issue can never turn the loop into a crash loop. ``at_once``: a
    failure that only a person can fix (a broken prompt template) parks it now, with a
    comment on the issue that says why."""
    key = f"action_fail:{action.verb}:{action.target}"
    count = int(rt.store.get(key, "0") or 0) + 1
    rt.store.put(key, str(count))
    if count < GIVE_UP_AFTER and not at_once:
        return None
    reason = (error if at_once else f"shiftctl could not {action.verb} it {count} times: "
              f"{error}")[:500]
    with rt.store.tx():
        if action.verb in TASK_VERBS and isinstance(action.target, int):
            task = rt.store.task(action.target)
            if task is not None:
                rt.store.set_task_state(task, TaskState.NEEDS_HUMAN, reason)
                if at_once:
                    rt.outbox.comment(task.issue, "parked", f"{task.key}:{int(rt.now * 1000)}",
                                      f"Task **{task.key}** waits for a person: {reason}. Fix "
                                      f"that, then reply `/retry {task.key}`.")
        elif action.verb in ISSUE_VERBS and isinstance(action.target, int):
            issue = rt.store.issue(action.target)
            if issue is not None and issue.state != "needs_human":
                from shiftctl.admin.briefing.prompts import fence
                rt.store.set_issue_state(action.target, IssueState.NEEDS_HUMAN, reason)
                if at_once:
                    text = (f"This issue waits for a person: {reason}. Fix that, then reply "
                            "`/replan`.")
                else:
                    text = (f"shiftctl stopped working on this issue: it could not "
                            f"{action.verb} it {count} times in a row. The last error:"
                            f"\n\n{fence(error[:1500])}\n\nFix the cause and reply "
                            "`/retry`, or `/cancel`.")
                rt.outbox.comment(issue.number, "parked",
                                  f"{action.verb}:{int(rt.now * 1000)}", text)
                rt.outbox.label(issue.number, "needs_human")
        elif action.verb in ("collect", "reclaim", "kill"):
            run = rt.store.run(str(action.target))
            if run is not None and run.ended_at is None:
                task = rt.store.task(run.task_id) if run.task_id else None
                rt.store.finish_run(run, task, outcome="crashed", error=reason)
                if task is not None and task.state == "running":
                    rt.store.set_task_state(task, TaskState.NEEDS_HUMAN, reason)
        elif action.verb == "command":
            cmd = next((c for c in rt.snapshot.commands if c.id == action.target), None)
            if cmd is not None:
                rt.store.mark_command(cmd, f"failed: {error}"[:500])
        else:
            return None
        rt.store.put(key, "0")
    return f"gave up on {action}: {reason}"


def _refresh_pr_bodies(rt: CycleContext, since: int) -> None:
    """A task that changed state this cycle changes its issue's PR body: queue one refresh
    per such issue (docs/design.md §10). Looked up only when a task did change."""
    changed = [r[0] for r in rt.store.conn.execute(
        "SELECT DISTINCT issue FROM events WHERE id > ? AND kind = 'task.state' "
        "AND issue IS NOT NULL", (since,))]
    if changed:
        from shiftctl.admin.review.integration import refresh_pr_bodies
        refresh_pr_bodies(rt, changed)


def execute(rt: CycleContext, decision: Decision) -> tuple[list[str], list[str]]:
    """Run every action; returns (what was done, errors). Pending tracker writes go last."""
    done: list[str] = []
    errors: list[str] = []
    since = rt.store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    for action in decision.actions:
        outage = False  # a tracker that did not answer: waited out, never given up on
        try:
            done.append(handler(action.verb)(rt, action))
            continue
        except PushRejected as exc:  # counted: a refused push does not fix itself
            error = f"push refused: {exc}"
            rt.store.event("action.error", action=str(action), error=error)
        except TrackerError as exc:
            error, outage = f"tracker: {exc}", True
            rt.store.event("action.error", action=str(action), error=error)
        except PromptError as exc:  # the repository's prompt templates: a person fixes them
            error = str(exc)
            rt.store.event("action.error", action=str(action), error=error)
            errors.append(f"{action}: {error}")
            parked = _give_up(rt, action, error, at_once=True)
            if parked:
                done.append(parked)
            continue
        except Exception as exc:  # one bad action must not stop the others
            if unusable(exc):
                raise  # a damaged state db stops the cycle: nothing more is written to it
            error = f"{type(exc).__name__}: {exc}"
            rt.store.event("action.error", action=str(action), error=error,
                           trace=traceback.format_exc()[-4000:])
            log.failure(rt.paths, f"action {action} failed", exc)
        errors.append(f"{action}: {error}")
        if not outage:
            parked = _give_up(rt, action, error)
            if parked:
                done.append(parked)
    try:
        _refresh_pr_bodies(rt, since)
    except Exception as exc:  # a stale body is retried at the next change, never fatal
        if unusable(exc):
            raise
        errors.append(f"pr body: {type(exc).__name__}: {exc}")
    try:
        done += rt.outbox.flush()
    except TrackerError as exc:
        errors.append(f"tracker writes: {exc}")
    return done, errors
