"""What a worker is told: the task, the issue as fenced data, what earlier attempts did, and
what memory holds that is relevant (conventions, lessons, similar tasks)."""
from __future__ import annotations

from typing import Any, NamedTuple

from shiftctl.admin.briefing.prompts import digest, render
from shiftctl.admin.briefing.recall import recall
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.memory import episodes, states
from shiftctl.memory.episodes import Episode
from shiftctl.memory.store import Issue, Run, Task

MAX_FACTS_PER_ATTEMPT = 12
SKIPPED_KEY = "context_skipped:"  # kv: the reason a conventions file was last skipped


class Briefing(NamedTuple):
    text: str
    prompt_hash: str
    context_hash: str
    lesson_ids: list[int]


def kept_commits(runs: list[Run]) -> list[str]:
    """The commits the task branch still holds: those of the latest attempt that made any,
    unless that attempt's work conflicted with the integration branch (then the next attempt
    starts from the integration head)."""
    latest = next((r for r in reversed(runs) if r.commits), None)
    if latest is None or states.conflicted(latest.error):
        return []
    return list(latest.commits)


def attempt_history(runs: list[Run],
                    memory: dict[str, Episode] | None = None) -> list[dict[str, Any]]:
    """Working memory: each earlier attempt's outcome, what it did (files, key log facts),
    its commits, and why it failed (error, failing checks' output, review findings)."""
    out = []
    for r in runs:
        findings = list(r.findings)
        for check in r.checks:
            if not check.get("passed") and not any(f"'{check.get('name')}'" in f for f in findings):
                findings.append(f"check '{check.get('name')}' failed:\n"
                                f"{(check.get('output') or '').strip()[-2500:]}")
        ep = (memory or {}).get(r.id)
        out.append({"attempt": r.attempt, "outcome": r.outcome or "unknown",
                    "summary": r.summary or "", "error": r.error or "",
                    "commits": [c[:10] for c in r.commits], "findings": findings,
                    "files": list(r.files_changed[:20]),
                    "facts": list(ep.facts[-MAX_FACTS_PER_ATTEMPT:]) if ep else []})
    return out


def answers(rt: CycleContext, task: Task) -> list[str]:
    return [c.text for c in rt.store.commands(issue=task.issue)
            if c.verb == "reply" and c.arg == task.key and c.applied_at]


def report_skipped(rt: CycleContext, skipped: list[tuple[str, str]]) -> None:
    """A conventions file that was not read (a link out of the repository): one event per
    file and reason, not one per prompt."""
    for name, why in skipped:
        key = f"{SKIPPED_KEY}{name}"
        if rt.store.get(key) != why:
            rt.store.put(key, why)
            rt.store.event("context.skipped", file=name, why=why)


def work_prompt(rt: CycleContext, issue: Issue, task: Task, attempt: int, previous: list[Run],
                branch: str) -> Briefing:
    """The prompt, its hash, the context hash (SOP files plus the lessons shown) and the ids
    of the lessons shown (counted when the run is recorded)."""
    found = recall(rt.config, rt.store, issue, task)
    report_skipped(rt, found.skipped)
    memory = {ep.run_id: ep for ep in episodes.of_task(rt.store.conn, task.id)}
    text = render(rt.config, "work.md.j2", issue=issue, task=task, branch=branch,
                  attempt=attempt - task.attempt_floor,  # in this round
                  max_attempts=rt.config.workers.max_attempts,
                  checks=rt.config.checks, previous=attempt_history(previous, memory),
                  kept=[c[:10] for c in kept_commits(previous)],
                  answers=answers(rt, task), context_files=found.context_files,
                  lessons=found.lessons, episodes=found.episodes)
    context = "\n".join([f"{f['name']}\n{f['text']}" for f in found.context_files]
                        + [str(lesson.get("text", "")) for lesson in found.lessons])
    return Briefing(text, digest(text), digest(context), found.lesson_ids)
