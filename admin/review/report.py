"""What each task of an issue did, for the PR body: its state and attempts, tokens, turns
and cost, the summary of its last attempt, its checks with their results, and its "done
when" criteria (docs/design.md §7). Pure.

The summary is an agent's words: it goes in a code span, where GitHub neither links
``Closes #N`` nor notifies ``@someone``.
"""
from __future__ import annotations

from shiftctl.admin import humanize
from shiftctl.admin.untrusted import one_line
from shiftctl.memory.store import Run, Task, Usage

STATE_MARK = {"done": "x", "cancelled": "-"}


def code_span(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def check_line(check: dict[str, object]) -> str:
    name = one_line(str(check.get("name") or "?"), 80)
    result = "passed" if check.get("passed") else f"FAILED (exit code {check.get('exit_code')})"
    seconds = check.get("duration_s")
    took = f" in {humanize.duration(float(seconds))}" if isinstance(seconds, (int, float)) \
        else ""
    return f"check `{name}`: {result}{took}"


def task_lines(task: Task, last: Run | None, used: Usage) -> list[str]:
    """One item of the PR body's task list, with what the task's last attempt reported."""
    mark = STATE_MARK.get(task.state, " ")
    spent = humanize.spent(used)
    lines = [f"- [{mark}] **{task.key}** {task.title} — {task.state}, {task.attempts} "
             f"attempt(s), {spent}"]
    if last is not None and last.summary:
        lines.append(f"  - summary: {code_span(one_line(last.summary, 300))}")
    for check in (last.checks if last is not None else [])[:20]:
        lines.append(f"  - {check_line(check)}")
    lines += [f"  - done when: {one_line(c, 300)}" for c in task.success_criteria[:20]]
    return lines
