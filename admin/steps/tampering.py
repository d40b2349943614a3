"""A run that ended ``tampered``: what a person is told, and the audit record.

The worker found that its agent changed the repository's git setup outside its worktree
(hooks, config, attributes, refs), undid what it could and kept what it removed. Nothing of
the attempt is committed or merged; the task (or the issue, for a planner) waits for a
person, and this says what changed, what was undone and where the removed things are kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.memory.store import Run

MAX_LISTED = 20


def describe(entries: Sequence[dict[str, Any]]) -> str:
    """The list of changes, one bullet each, with the config keys or ref moves under it."""
    lines = []
    for e in entries[:MAX_LISTED]:
        lines.append(f"- {e.get('what', '?')} {e.get('change', 'changed')}: "
                     f"{e.get('undo', '')}")
        detail = [str(d) for d in e.get("detail") or []][:12]
        if detail:
            lines += ["  ```", *(f"  {d[:300]}" for d in detail), "  ```"]
    if len(entries) > MAX_LISTED:
        lines.append(f"- ... and {len(entries) - MAX_LISTED} more (see `shiftctl events`)")
    return "\n".join(lines) or "- (the worker did not say what)"


def comment(who: str, entries: Sequence[dict[str, Any]], then: str) -> str:
    return (f"{who} was stopped: its agent changed the repository's git setup outside its "
            "worktree. Nothing of this attempt is committed, reviewed or merged, and "
            "shiftctl's own git never ran what was planted.\n\n"
            f"What changed, and what shiftctl did about it:\n{describe(entries)}\n\n"
            "Check the agent and its profile. If you made one of these changes yourself "
            "while the run went on (a commit, a tag, a setting), put it back: a ref is kept "
            "where the list says (`git update-ref REF SHA`), a file in the run's `tampered/` "
            "directory. An unsandboxed agent runs as you, so its changes and yours look "
            "alike; under `sandbox: bwrap` no agent can write `.git`, and your own changes "
            "are never taken for an agent's. " + then)


def record(rt: CycleContext, run: Run, entries: Sequence[dict[str, Any]]) -> None:
    """The audit event (inside the caller's transaction)."""
    rt.store.event("run.tampered", issue=run.issue, run=run.id, run_kind=run.kind,
                   changes=list(entries)[:200])
