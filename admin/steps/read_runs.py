"""The end of a read-only run (agent planner, reviewer): record it, then let its owner read
the answer. The run's end and what its answer changes are one transaction."""
from __future__ import annotations

from typing import Any

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.outcomes import NOT_COUNTED
from shiftctl.admin.steps import tampering
from shiftctl.memory.states import TaskState
from shiftctl.memory.store import Run, Task
from shiftctl.worker.result import Result


def collect_read(rt: CycleContext, run: Run, task: Task | None, result: Result | None,
                 outcome: str, error: str, changes: dict[str, Any]) -> str:
    changes = {k: v for k, v in changes.items() if k in ("exit_code", "tokens_in", "tokens_out",
                                                         "cost_usd")}
    if outcome == "tampered":
        return _tampered(rt, run, task, result, error, changes)
    with rt.store.tx():
        if outcome == "succeeded" and result is not None:
            if run.kind == "plan":
                from shiftctl.admin.planning.agent_planner import answer
            else:
                from shiftctl.admin.review.reviewer import answer
            outcome, error, more = answer(rt, run, result)
            changes.update(more)
        rt.store.finish_run(run, task, outcome=outcome, error=error or None,
                            counted=int(outcome not in NOT_COUNTED), **changes)
    return f"collect {run.kind} run {run.id}: {outcome}" + (f" ({error})" if error else "")


def _tampered(rt: CycleContext, run: Run, task: Task | None, result: Result | None, error: str,
              changes: dict[str, Any]) -> str:
    """A planner or reviewer whose agent tampered: its answer is not read; the issue (for a
    plan) or the task (for a review) goes to a person, with what changed."""
    entries = result.tampering if result is not None else []
    with rt.store.tx():
        tampering.record(rt, run, entries)
        rt.store.finish_run(run, task, outcome="tampered", error=error or None, counted=0,
                            **changes)
        if run.kind == "plan":
            from shiftctl.admin.planning.intake import refuse
            issue = rt.store.issue(run.issue)
            if issue is not None and issue.state == "new":
                refuse(rt, issue, int((run.subject or "0:v0").rpartition(":v")[2]),
                       "its planner agent changed the repository's git setup outside its "
                       "checkout, so its answer is not used. What changed, and what "
                       f"shiftctl did about it:\n{tampering.describe(entries)}\n")
        elif task is not None and task.state == "review":
            rt.outbox.comment(task.issue, "tampered", f"{task.key}:judge:{run.id}",
                              tampering.comment(f"The reviewer of task **{task.key}** "
                                                f"({task.title})", entries,
                                                f"Then reply `/retry {task.key}`."))
            rt.store.set_task_state(task, TaskState.NEEDS_HUMAN,
                                    f"reviewer tampering: {error}"[:500])
    return f"collect {run.kind} run {run.id}: tampered ({error})"
