"""What happens to a task after one of its runs ends. Pure: plain values in, a step out.

Three kinds of "try again" are kept apart: a failure spends an attempt and backs off
(``base · 2^(n-1)``, capped); a rate limit or the kill switch spends nothing; and
``max_attempts`` ends in ``needs_human`` — nothing retries forever. Refused credentials
spend nothing and go straight to a person: no retry could succeed before someone fixes them.
"""
from __future__ import annotations

from dataclasses import dataclass

from shiftctl.memory import states
from shiftctl.memory.states import Outcome, TaskState

FAILURES = ("failed", "timed_out", "stalled", "crashed", "rejected")
# "tampered": the agent changed the repository's git setup outside its worktree. That is not
# an honest failure to retry: it spends no attempt and goes straight to a person.
NOT_COUNTED = (Outcome.RATE_LIMITED, Outcome.STOPPED, Outcome.BLOCKED, Outcome.TAMPERED,
               Outcome.LOST)


@dataclass(frozen=True)
class Step:
    state: TaskState
    reason: str | None = None
    counted: bool = True
    not_before: float | None = None
    comment: str | None = None  # the status comment: failed|question|tampered|unauthenticated


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
    if outcome == Outcome.UNAUTHENTICATED:  # the next run would fail the same way
        return Step(TaskState.NEEDS_HUMAN, f"credentials refused: {error}"[:500], counted=False,
                    comment="unauthenticated")
    if outcome == Outcome.LOST:  # its worker host vanished (killed, or its network gone)
        return Step(TaskState.READY, "its worker host was lost: runs again, on any host, "
                    "without spending an attempt", counted=False)
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


@dataclass(frozen=True)
class Grant:
    """What a person's ``/retry`` gives a task: its new ``attempt_floor`` and what to say."""
    attempt_floor: int
    granted: int  # fresh attempts (0: the task still had attempts in its round)
    left: int     # attempts it may spend from now on
    note: str


def retry_grant(state: str, *, attempts: int, floor: int, max_attempts: int) -> Grant:
    """``/retry`` (docs/design.md §3). A task waiting out its automatic backoff starts at once
    and keeps its round: nothing is granted, nothing reset. Any other task gets a fresh round
    of ``max_attempts`` from where it stands. ``attempts`` itself never goes back. Pure."""
    if state == TaskState.RETRY:
        left = max(0, max_attempts - (attempts - floor))
        return Grant(floor, 0, left,
                     f"starts now instead of after its backoff, with {left} of its "
                     f"{max_attempts} attempts left (a retry during the backoff grants none)")
    return Grant(attempts, max_attempts, max_attempts,
                 f"granted {max_attempts} more attempt(s) (workers.max_attempts) after the "
                 f"{attempts} spent so far")


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
