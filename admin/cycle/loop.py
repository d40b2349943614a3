"""``shiftctl run``: the loop in the foreground (the shell loop under supervisord is the
same thing, one process per cycle)."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shiftctl.admin import config as config_mod
from shiftctl.admin.config import ConfigError
from shiftctl.admin.cycle import presence
from shiftctl.admin.cycle.main import CycleResult, run_cycle
from shiftctl.admin.cycle.nap import WAKE_TICK_S, nap
from shiftctl.admin.paths import Paths

MAX_FAILING_CYCLES = 10


def run_loop(root: Path, *, until_idle: bool = False, max_cycles: int | None = None,
             on_cycle: Callable[[CycleResult], None] | None = None,
             max_seconds: float | None = None) -> CycleResult | None:
    """Cycle, nap, repeat. ``until_idle`` returns once nothing can move without a human.
    While it runs, ``.shiftctl/loop.pid`` names it (``presence``)."""
    paths = Paths(root)
    try:
        return _loop(root, paths, until_idle, max_cycles, on_cycle, max_seconds)
    finally:
        presence.clear(paths)


def _loop(root: Path, paths: Paths, until_idle: bool, max_cycles: int | None,
          on_cycle: Callable[[CycleResult], None] | None,
          max_seconds: float | None) -> CycleResult | None:
    started = time.monotonic()
    last: CycleResult | None = None
    n = 0
    failing = 0
    woke = "start"  # what came before the next cycle (counted as its wake reason)
    while True:
        try:
            cfg = config_mod.load(root)  # edits to shiftctl.yaml apply from the next cycle
        except ConfigError as exc:  # a broken policy file waits for a person, it never spins
            last = CycleResult(0, "error", [], min(300.0, 5.0 * 2 ** failing), [str(exc)])
            failing += 1
            n += 1
            if on_cycle:
                on_cycle(last)
            if until_idle or (max_cycles is not None and n >= max_cycles):
                return last
            time.sleep(last.sleep_s)
            continue
        last = run_cycle(cfg, woke=woke)  # never raises: a failing cycle is reported, not fatal
        presence.record(paths)  # again each cycle: .shiftctl/ may have been deleted
        n += 1
        if on_cycle:
            on_cycle(last)
        if until_idle and last.rung == "sleep" and not last.progressable:
            return last
        failing = failing + 1 if last.errors and not last.actions else 0
        if until_idle and failing >= MAX_FAILING_CYCLES:
            return last  # the same errors again and again: that needs a human
        if max_cycles is not None and n >= max_cycles:
            return last
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            return last
        pause = last.sleep_s
        if until_idle:
            waiting = last.rung in ("sleep", "busy", "error", "health")
            pause = min(pause, 1.0) if waiting else 0.0
        woke = "followup"
        if pause > 0:
            woke = nap(cfg, pause, tick=0.05 if until_idle else WAKE_TICK_S)
