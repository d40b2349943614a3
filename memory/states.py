"""The states issues and tasks move through and the outcomes runs end with (docs/design.md §3).

``StrEnum``: a member is its string, so the database, JSON and the tracker see plain words,
and code that compares with a word keeps working while mypy checks every place that sets one.
"""
from __future__ import annotations

from enum import StrEnum


class IssueState(StrEnum):
    NEW = "new"
    PLANNED = "planned"
    ACTIVE = "active"
    DONE = "done"
    CLOSED = "closed"
    NEEDS_HUMAN = "needs_human"
    CANCELLED = "cancelled"


class TaskState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    REVIEW = "review"
    DONE = "done"
    RETRY = "retry"
    NEEDS_HUMAN = "needs_human"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """How a run ended."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    STALLED = "stalled"
    CRASHED = "crashed"
    BLOCKED = "blocked"
    NEEDS_BREAKDOWN = "needs_breakdown"
    RATE_LIMITED = "rate_limited"
    UNAUTHENTICATED = "unauthenticated"  # the provider refused the agent's credentials
    STOPPED = "stopped"
    REJECTED = "rejected"
    TAMPERED = "tampered"
    LOST = "lost"            # its worker host vanished (remote launchers)


ISSUE_STATES: tuple[str, ...] = tuple(IssueState)
TASK_STATES: tuple[str, ...] = tuple(TaskState)

# Why a task waits for a person, when the reason decides what happens next: a person's reply
# to a task that asked answers it; an attempt whose work conflicted starts from the integration
# head, not from its own commits. One place writes and reads each prefix.
QUESTION = "question: "
MERGE_CONFLICT = "merge conflict"


def asked(reason: str | None) -> bool:
    """The task waits for an answer to its question."""
    return (reason or "").startswith(QUESTION.rstrip())


def conflicted(error: str | None) -> bool:
    """The run's work could not be merged onto the integration branch."""
    return (error or "").startswith(MERGE_CONFLICT)
