"""Reading what agent CLIs print: JSON event lines and the numbers inside them.

Their output is untrusted and may be anything; these never raise, so a strange line can
never turn a finished attempt into a worker error.
"""
from __future__ import annotations

import json
import math
from typing import Any


def event(line: str) -> dict[str, Any] | None:
    """One JSON object per line (JSONL), or None for anything else."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    return value if isinstance(value, dict) else None


def events(text: str) -> list[dict[str, Any]]:
    return [e for e in map(event, text.splitlines()) if e is not None]


def number(value: Any) -> float:
    """A count or amount as reported: a non-negative, finite number, else 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        n = float(value)
    except OverflowError:  # an integer past float range
        return 0.0
    return n if math.isfinite(n) and n >= 0 else 0.0


def count(value: Any) -> int:
    return int(number(value))


def mapping(value: Any) -> dict[str, Any]:
    """A nested object as reported, or an empty one when it is anything else."""
    return value if isinstance(value, dict) else {}
