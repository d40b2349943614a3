"""Hidden markers on everything shiftctl writes, so a write is never made twice."""
from __future__ import annotations

import re

_MARKER = re.compile(r"<!-- shiftctl:([a-z_]+):(\d+):([^ ]+) -->")


def marker(kind: str, issue: int, key: str | int) -> str:
    return f"<!-- shiftctl:{kind}:{issue}:{key} -->"


def find(text: str) -> tuple[str, int, str] | None:
    m = _MARKER.search(text or "")
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


def has_marker(text: str) -> bool:
    return _MARKER.search(text or "") is not None


def strip(text: str) -> str:
    """The text as people read it: without the hidden marker (the dashboard shows it)."""
    return _MARKER.sub("", text or "").lstrip("\n")


def run_key(task_key: str, attempt: int, run_id: str) -> str:
    """The key of a comment about one run (a question, tampering). Such runs spend no attempt,
    so two of them share an attempt number: the run's id tells them apart, and collecting
    the same run again (after a crash) finds the same key."""
    return f"{task_key}:{attempt}:{run_id}"
