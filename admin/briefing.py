"""What a worker is told: the task, the issue as fenced data, and what earlier attempts did."""
from __future__ import annotations

from typing import Any

from admin.prompts import digest, render
from admin.runtime import Runtime
from memory.store import Issue, Run, Task


def attempt_history(runs: list[Run]) -> list[dict[str, Any]]:
    """Working memory: each earlier attempt's outcome, error, kept commits and findings."""
    out = []
    for r in runs:
        findings = list(r.findings)
        for check in r.checks:
            if not check.get("passed") and not any(f"'{check.get('name')}'" in f for f in findings):
                findings.append(f"check '{check.get('name')}' failed:\n"
                                f"{(check.get('output') or '').strip()[-2500:]}")
        out.append({"attempt": r.attempt, "outcome": r.outcome or "unknown",
                    "summary": r.summary or "", "error": r.error or "",
                    "commits": [c[:10] for c in r.commits], "findings": findings})
    return out


def answers(rt: Runtime, task: Task) -> list[str]:
    return [c.text for c in rt.store.commands(issue=task.issue)
            if c.verb == "reply" and c.arg == task.key and c.applied_at]


def work_prompt(rt: Runtime, issue: Issue, task: Task, attempt: int, previous: list[Run],
                branch: str) -> tuple[str, str, str]:
    """(prompt, prompt hash, context hash)."""
    context_files: list[dict[str, str]] = []
    lessons: list[dict[str, Any]] = []
    episodes: list[dict[str, Any]] = []
    text = render(rt.config, "work.md.j2", issue=issue, task=task, branch=branch,
                  attempt=attempt, max_attempts=rt.config.workers.max_attempts,
                  checks=rt.config.checks, previous=attempt_history(previous),
                  answers=answers(rt, task), context_files=context_files, lessons=lessons,
                  episodes=episodes)
    context = "\n".join([f"{f['name']}\n{f['text']}" for f in context_files]
                        + [str(lesson.get("text", "")) for lesson in lessons])
    return text, digest(text), digest(context)
