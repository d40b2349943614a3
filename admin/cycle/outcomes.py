"""What happens to a task after one of its runs ends. Pure: plain values in, a step out.

Three kinds of "try again" are kept apart: a failure spends an attempt and backs off
(``base · 2^(n-1)``, capped); a rate limit or the kill switch spends nothing; and
``max_attempts`` ends in ``needs_human`` — nothing retries forever.
"""
from __future__ import annotations

from dataclasses import dataclass

from shiftctl.memory import states
from shiftctl.memory.states import Outcome, TaskState

FAILURES = ("failed", "timed_out", "stalled", "crashed", "rejected")
# "tampered": the agent changed the repository's git setup outside its worktree. That is not
# an honest failure to retry: it spends no attempt and goes straight to a person.
NOT_COUNTED = (Outcome.RATE_LIMITED, Outcome.STOPPED, Outcome.BLOCKED, Outcome.TAMPERED)


@dataclass(frozen=True)
class Step:
    state: TaskState
    reason: str | None = None
    counted: bool = True
    not_before: float | None = None
    comment: str | None = None  # the status comment: failed | question | tampered


def backoff(attempt: int, base: float = 10.0, cap: float = 300.0) -> float:
    return min(base * (2 ** max(0, attempt - 1)), cap)


def after_run(outcome: str, *, attempts: int, max_attempts: int, now: float,
              error: str = "", question: str = "", base: float = 10.0,
              cap: float = 300.0) -> Step:
    """``attempts`` counts this run. Returns the task's next state."""
    if outcome == Outcome.SUCCEEDED:
        return Step(TaskState.REVIEW)
    if outcome == Outcome.NEEDS_BREAKDOWN:
        return Step(TaskState.CANCELLED, "broken down into subtasks")
    if outcome == Outcome.BLOCKED:
        return Step(TaskState.NEEDS_HUMAN, f"{states.QUESTION}{question}"[:500], counted=False,
                    comment="question")
    if outcome == Outcome.TAMPERED:
        return Step(TaskState.NEEDS_HUMAN, f"tampering: {error}"[:500], counted=False,
                    comment="tampered")
    said = outcome.replace("_", " ")
    if outcome in (Outcome.RATE_LIMITED, Outcome.STOPPED):
        return Step(TaskState.READY, f"{said}: waits without spending an attempt",
                    counted=False)
    why = error or said
    if attempts >= max_attempts:
        return Step(TaskState.NEEDS_HUMAN,
                    f"failed {attempts} of {max_attempts} attempts: {why}"[:500],
                    comment="failed")
    wait = backoff(attempts, base, cap)
    return Step(TaskState.RETRY, f"attempt {attempts} {said}: {why}"[:500],
                not_before=now + wait)

def dependents(tasks: dict[str, list[str]], key: str) -> list[str]:
    """Every task that (transitively) depends on ``key``, in a stable order."""
    out: list[str] = []
    frontier = [key]
    while frontier:
        k = frontier.pop(0)
        for other, deps in tasks.items():
            if k in deps and other not in out and other != key:
                out.append(other)
                frontier.append(other)
    return out
