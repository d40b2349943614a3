"""What happens to a task after one of its runs ends. Pure: plain values in, a step out.

Three kinds of "try again" are kept apart: a failure spends an attempt and backs off
(``base · 2^(n-1)``, capped); a rate limit or the kill switch spends nothing; and
``max_attempts`` ends in ``needs_human`` — nothing retries forever.
"""
from __future__ import annotations

from dataclasses import dataclass

FAILURES = ("failed", "timed_out", "stalled", "crashed", "rejected")
# "tampered": the agent changed the repository's git setup outside its worktree. That is not
# an honest failure to retry: it spends no attempt and goes straight to a person.
NOT_COUNTED = ("rate_limited", "stopped", "blocked", "tampered", "lost")


@dataclass(frozen=True)
class Step:
    state: str
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
    if outcome == "succeeded":
        return Step("review")
    if outcome == "needs_breakdown":
        return Step("cancelled", "broken down into subtasks")
    if outcome == "blocked":
        return Step("needs_human", f"question: {question}"[:500], counted=False,
                    comment="question")
    if outcome == "tampered":
        return Step("needs_human", f"tampering: {error}"[:500], counted=False,
                    comment="tampered")
    if outcome == "lost":  # its worker host vanished (killed, or its network gone)
        return Step("ready", "its worker host was lost: runs again, on any host, without "
                    "spending an attempt", counted=False)
    if outcome in ("rate_limited", "stopped"):
        return Step("ready", f"{outcome.replace('_', ' ')}: waits without spending an attempt",
                    counted=False)
    why = error or outcome.replace("_", " ")
    if attempts >= max_attempts:
        return Step("needs_human", f"failed {attempts} of {max_attempts} attempts: {why}"[:500],
                    comment="failed")
    wait = backoff(attempts, base, cap)
    return Step("retry", f"attempt {attempts} {outcome.replace('_', ' ')}: {why}"[:500],
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
