"""The end of a read-only run (agent planner, reviewer): record it, then let its owner read
the answer. The run's end and what its answer changes are one transaction."""
from __future__ import annotations

from typing import Any

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.outcomes import NOT_COUNTED
from shiftctl.memory.store import Run, Task
from shiftctl.worker.result import Result


def collect_read(rt: CycleContext, run: Run, task: Task | None, result: Result | None,
                 outcome: str, error: str, changes: dict[str, Any]) -> str:
    changes = {k: v for k, v in changes.items() if k in ("exit_code", "tokens_in", "tokens_out",
                                                         "cost_usd")}
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
