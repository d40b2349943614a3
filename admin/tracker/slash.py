"""Slash commands in tracker comments: ``/approve``, ``/retry TASK``, ``/cancel``, ``/replan``.

Only the reading of the text lives here, next to the sync that reads comments; applying a
command is ``shiftctl.admin.steps.steering``'s job.
"""
from __future__ import annotations

import re

VERBS = ("approve", "retry", "cancel", "replan")
_COMMAND = re.compile(r"^[ \t]*/(approve|retry|cancel|replan)\b[ \t]*([^\s]*)", re.MULTILINE)


def parse(text: str) -> list[tuple[str, str]]:
    """Slash commands at the start of a line, outside code fences."""
    found = []
    in_fence = False
    for line in (text or "").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _COMMAND.match(line)
        if m:
            found.append((m.group(1), m.group(2)))
    return found
