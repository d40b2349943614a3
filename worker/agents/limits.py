"""Recognising "the provider said no, not the task": rate and usage limits, overload, outages.

Such a run ends ``rate_limited``: the admin cools the profile down (until the reset time
when the agent gave one) and moves the task to a fallback profile or lets it wait, without
spending an attempt. Pure functions over the agents' own words.
"""
from __future__ import annotations

import math
import re
import time

# HTTP statuses that mean the provider (not the task) is the problem: too many requests,
# overloaded, or down.
PROVIDER_STATUSES = frozenset({429, 500, 502, 503, 504, 529})

_LIMIT_TEXT = re.compile(
    r"rate[ _-]?limit|usage limit|too many requests|quota (?:exceeded|exhausted)|"
    r"insufficient_quota|(?:session|weekly|daily|hourly|5-hour) limit reached|overloaded|"
    r"\b429\b|\b529\b", re.IGNORECASE)
_EPOCH = re.compile(r"\|(\d{10})\b")                       # "usage limit reached|1767225600"
_RESET_IN = re.compile(r"(?:try again|retry|resets?) in (\d+(?:\.\d+)?)\s*"
                       r"(ms|milliseconds?|s|sec(?:ond)?s?|m|min(?:ute)?s?|h|hours?)\b",
                       re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "h": 3600.0, "m": 60.0, "s": 1.0}


def is_provider_status(status: int | None) -> bool:
    return status is not None and status in PROVIDER_STATUSES


def mentions_limit(text: str) -> bool:
    return bool(_LIMIT_TEXT.search(text or ""))


def reset_time(text: str, now: float | None = None) -> float | None:
    """When the limit lifts, if the message says: an epoch after ``|`` or "try again in 20s"."""
    now = time.time() if now is None else now
    m = _EPOCH.search(text or "")
    if m and int(m.group(1)) > now:
        return float(m.group(1))
    m = _RESET_IN.search(text or "")
    if m:
        unit = m.group(2).lower()
        scale = _UNIT_S["ms"] if unit.startswith("ms") or unit.startswith("milli") else \
            _UNIT_S[unit[0]]
        reset = now + float(m.group(1)) * scale
        return reset if math.isfinite(reset) else None  # "in 1e999 hours" says nothing
    return None
