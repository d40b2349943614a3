"""Pacing by the tracker's request quota: pure functions of the last ``rate_status``.

When the quota runs low, the loop spreads what is left evenly until the reset: a cycle
costs about what the last one did, so the next one waits ``time to reset * cost /
remaining``. A spent quota (or a rate-limit answer) waits for the reset outright.
"""
from __future__ import annotations

from typing import Any

LOW_WATER = 0.2  # below this share of the quota left, cycles are spaced out


def pause(rate: dict[str, Any] | None, now: float) -> float:
    """The least a nap must last so the quota lasts until its reset (0: no limit)."""
    if not rate:
        return 0.0
    limited = rate.get("limited_until")
    if limited and limited > now:
        return float(limited - now)
    limit, remaining, reset = rate.get("limit"), rate.get("remaining"), rate.get("reset_at")
    if not limit or remaining is None or not reset or reset <= now:
        return 0.0
    if remaining <= 0:
        return float(reset - now)
    if remaining >= limit * LOW_WATER:
        return 0.0
    per_cycle = max(1, int(rate.get("requests") or 1))
    return round(min(reset - now, (reset - now) * per_cycle / remaining), 3)


def describe(rate: dict[str, Any] | None, now: float) -> str | None:
    """One line for ``shiftctl status``."""
    if not rate:
        return None
    parts = []
    if rate.get("limit") is not None and rate.get("remaining") is not None:
        parts.append(f"{rate['remaining']}/{rate['limit']} requests left")
    if rate.get("reset_at") and rate["reset_at"] > now:
        parts.append(f"resets in {(rate['reset_at'] - now) / 60:.0f} min")
    wait = pause(rate, now)
    if rate.get("limited_until") and rate["limited_until"] > now:
        parts.append(f"rate-limited: next cycle in {wait:.0f}s")
    elif wait > 0:
        parts.append(f"quota low: cycles slowed to one per {wait:.0f}s")
    return ", ".join(parts) or None
