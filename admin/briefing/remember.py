"""Memory's side of a run's life: the episode at its end, the verdict at review, acceptance
when a person merged the issue's pull request, and distillation in the maintenance rung.

``record_end`` and ``record_merge`` are called inside the transaction that records the run's
end or the task's merge, so an episode exists exactly when its run has ended.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.memory import episodes, lessons
from shiftctl.memory.distil import distil as distil_lessons
from shiftctl.memory.episodes import Episode
from shiftctl.memory.logfacts import log_facts
from shiftctl.memory.store import DISTILLED_KEY, Run, Task


def episode_of(task: Task, run: Run, *, learnings: Sequence[str] = (),
               facts: Sequence[str] = ()) -> Episode:
    """A run, as memory keeps it. Pure."""
    return Episode(
        run_id=run.id, issue=run.issue, outcome=run.outcome or "unknown", task_id=task.id,
        task_key=task.key, title=task.title, body=task.body, paths=list(task.paths),
        attempt=run.attempt, profile=run.profile, summary=run.summary or "",
        error=run.error or "",
        failures=episodes.failures_of(run.error or "", run.checks, run.findings),
        files=list(run.files_changed), checks=episodes.compact_checks(run.checks),
        facts=list(facts), learnings=list(learnings), cost_usd=run.cost_usd,
        tokens_in=run.tokens_in, tokens_out=run.tokens_out, started_at=run.started_at,
        ended_at=run.ended_at)


def record_end(rt: CycleContext, task: Task | None, run: Run,
               learnings: Sequence[str] = ()) -> None:
    """The run's episode: written at its end, updated when review rejects it."""
    if task is None or run.kind != "work":
        return
    conn = rt.store.conn
    facts: list[str] = []
    if run.run_dir and episodes.by_run(conn, run.id) is None:
        facts = log_facts(Path(run.run_dir) / "agent.log")
    episodes.record(conn, episode_of(task, run, learnings=learnings, facts=facts), rt.now)


def record_merge(rt: CycleContext, run: Run) -> None:
    """The run's work was merged: its episode says so, and the lessons it was shown helped."""
    episodes.set_merged(rt.store.conn, run.id, rt.now)
    lessons.credit(rt.store.conn, run.id)


def accept(rt: CycleContext, issue: int) -> None:
    """A person merged the issue's pull request: its episodes are accepted work, which
    distillation may now turn into lessons for other issues."""
    count = episodes.accept_issue(rt.store.conn, issue, rt.now)
    rt.store.event("memory.accepted", issue=issue, episodes=count)


def distil(rt: CycleContext, action: Action) -> str:
    """Maintenance: lessons from the episodes that arrived since the last distillation."""
    mem = rt.config.memory
    with rt.store.tx():
        report = distil_lessons(rt.store.conn, since=int(rt.store.get(DISTILLED_KEY) or 0),
                                rule_after=mem.rule_after, retire_after=mem.retire_after)
        rt.store.put(DISTILLED_KEY, str(report.upto))
    return f"distil memory: {report}"

