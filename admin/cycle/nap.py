"""``shiftctl nap``: sleep, but wake early when there is reason to.

Wake triggers: the ``.shiftctl/wake`` file (workers touch it when they finish; so does
``shiftctl wake`` and every CLI request, and ``shiftctl serve`` on a GitHub webhook), a new
``priority:critical`` intake issue, a failed health check. The file is checked every
``tick``; the tracker and health every ``sleep.wake_check`` seconds, so a nap costs at most
one tracker request per wake check.

Each waker appends its reason to the wake file; the next cycle takes the file and counts why
it ran (``wake_reasons``), together with what the loop says of its nap (``--woke``), so
``/metrics`` can show what wakes the loop.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable

from shiftctl.admin.config import Config
from shiftctl.admin.cycle.snapshot import MIN_FREE_BYTES
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker import RateLimited, Tracker, TrackerError, cached_kv, open_tracker
from shiftctl.memory.db import StateError
from shiftctl.memory.store import Store
from shiftctl.system.fs import wake

CRITICAL = "priority:critical"
# How often the wake file is looked at: a finishing worker waits for this before its result
# is collected (every 0.25 s added ~0.1 s to every task on average; every 0.1 s costs
# 0.2% of a core while napping).
WAKE_TICK_S = 0.1

# Who writes the wake file (``shiftctl.system.fs.wake``); any other line counts as "other".
WAKERS = ("worker", "cli", "webhook")
WAKE_REASONS = ("timer", "followup", "start", "manual", "critical", "unhealthy", *WAKERS,
                "other")
MAX_WAKE_BYTES = 4096


def consume_wake(paths: Paths) -> list[str]:
    """Take the wake file (renamed first: a wake after this shows up at the next nap) and
    return the wakers' reasons, each once, in the order they came."""
    taken = paths.wake.with_name(f".wake.{os.getpid()}")
    try:
        os.rename(paths.wake, taken)
    except FileNotFoundError:
        return []
    try:
        with open(taken, "rb") as fh:
            raw = fh.read(MAX_WAKE_BYTES)
    except OSError:
        raw = b""
    finally:
        taken.unlink(missing_ok=True)
    words = raw.decode("ascii", "replace").split()
    return list(dict.fromkeys(w if w in WAKERS else "other" for w in words)) or ["other"]


def wake_reasons(loop_said: str | None, wakers: list[str]) -> tuple[str, ...]:
    """Why a cycle ran: who wrote the wake file, and what the loop's nap said (``time`` is
    the timer; ``wake`` is the wakers'); nothing at all: a person ran it by hand."""
    said = {"time": "timer", "wake": "other"}.get(loop_said or "", loop_said)
    if said is not None and said not in WAKE_REASONS:
        said = "other"
    if said is None:
        return tuple(wakers) or ("manual",)
    if wakers:
        return (*wakers, said) if said not in ("other", *wakers) else tuple(wakers)
    return (said,)


def _cursor(paths: Paths) -> str | None:
    try:
        store = Store.open(paths.state_db, readonly=True)
    except (StateError, Exception):
        return None
    try:
        return store.get("tracker_cursor")
    finally:
        store.close()


def _healthy(config: Config, paths: Paths) -> bool:
    if not paths.runtime.is_dir() or not (config.root / ".git").exists():
        return False
    try:
        return shutil.disk_usage(paths.runtime).free >= MIN_FREE_BYTES
    except OSError:
        return False


REMOTE_TICK_S = 0.5  # with runs on other machines: the wait on their returns, per round trip


def _remote_wait(config: Config, paths: Paths) -> Callable[[float], bool] | None:
    """While runs are open on another machine (rq, kubernetes): a wait that ends when a host
    delivers a return, since no host can touch the wake file. None otherwise (an idle nap
    never talks to Redis)."""
    if config.workers.launcher.kind == "local":
        return None
    try:
        store = Store.open(paths.state_db, readonly=True)
    except (StateError, Exception):
        return None
    try:
        remote = store.conn.execute("SELECT COUNT(*) FROM runs WHERE ended_at IS NULL "
                                    "AND launcher IS NOT NULL").fetchone()[0]
    finally:
        store.close()
    if not remote:
        return None
    from shiftctl.admin.launchers import current
    launcher = current(config, paths)
    return getattr(launcher, "wait_for_return", None)


def nap(config: Config, seconds: float, *, tick: float = WAKE_TICK_S,
        sleep: Callable[[float], None] = time.sleep) -> str:
    """Returns why it woke: ``time``, ``wake``, ``critical`` or ``unhealthy``."""
    paths = Paths(config.root)
    remote = _remote_wait(config, paths)
    start = time.monotonic()
    end = start + max(0.0, seconds)
    next_check = start + config.sleep.wake_check
    cursor = _cursor(paths)
    tracker: Tracker | None = None
    try:
        while True:
            now = time.monotonic()
            if paths.wake.exists():
                return "wake"
            if now >= end:
                return "time"
            if now >= next_check:
                next_check = now + config.sleep.wake_check
                if not _healthy(config, paths):
                    return "unhealthy"
                try:
                    tracker = tracker or open_tracker(config, cached_kv(paths))
                    if tracker.critical_since(cursor, config.tracker.intake_label):
                        return "critical"
                except RateLimited:
                    pass  # waking would only spend more of the quota: keep sleeping
                except TrackerError:
                    return "unhealthy"
            if remote is not None:
                if remote(max(0.0, min(REMOTE_TICK_S, end - now, next_check - now))):
                    wake(paths.wake, "worker")
                    return "wake"
                continue
            sleep(max(0.0, min(tick, end - now, next_check - now)))
    finally:
        if tracker is not None:
            tracker.close()
