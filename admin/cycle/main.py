"""One admin cycle: lock, load, walk the ladder, act on one rung, record, exit."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from shiftctl.admin.config import Config
from shiftctl.admin.cycle import faults, ladder, log
from shiftctl.admin.cycle.lock import AdminLock
from shiftctl.admin.cycle.nap import consume_wake, wake_reasons
from shiftctl.admin.cycle.snapshot import Snapshot, observe
from shiftctl.admin.inbox import import_requests
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import StateWriter, describe_error
from shiftctl.admin.tracker import TrackerError, open_tracker, quota
from shiftctl.admin.tracker.sync import remember, sync
from shiftctl.memory.store import Store


@dataclass
class CycleResult:
    cycle: int
    rung: str
    actions: list[str]
    sleep_s: float
    errors: list[str] = field(default_factory=list)
    progressable: bool = True
    tracker_requests: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cycle": self.cycle, "rung": self.rung, "actions": self.actions,
                               "sleep_s": self.sleep_s}
        if self.errors:
            out["errors"] = self.errors
        return out


def reap_children() -> None:
    """Collect exited workers of a long-lived admin (``shiftctl run``) so none stays a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


SANDBOX_KEY = "sandbox"


# Verbs whose handlers may start an agent or checks (so the sandbox must be known then).
STARTS_RUNS = frozenset({"spawn", "plan", "review", "verify"})


def record_sandbox(config: Config, store: Store, decision: ladder.Decision) -> None:
    """Which sandbox each profile's agents get and why, kept for ``status``; an event when
    that changes (the first cycle, bwrap installed or gone under ``auto``), so agents never
    start running unsandboxed without a record saying so and why. Resolving ``auto`` runs
    bwrap once, so it is done only when this cycle may start a run or the configuration
    changed; an idle cycle starts no process for it."""
    previous = store.get(SANDBOX_KEY)
    if previous and not any(a.verb in STARTS_RUNS for a in decision.actions):
        try:
            recorded = {n: v["configured"] for n, v in json.loads(previous).items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            recorded = None
        if recorded == {n: config.sandbox_of(p) for n, p in config.agents.profiles.items()}:
            return
    from shiftctl.admin.profiles import sandbox_summary  # it may run bwrap: not when idle
    summary = sandbox_summary(config)
    text = json.dumps(summary, sort_keys=True)
    if previous == text:
        return
    with store.tx():
        store.put(SANDBOX_KEY, text)
        store.event("sandbox.in_force", profiles=summary,
                    previous=json.loads(previous) if previous else None)


def _last_cycle_number(paths: Paths) -> int:
    try:
        store = Store.open(paths.state_db, readonly=True)
    except Exception:
        return 0
    try:
        last = store.last_cycle()
        return last.number if last else 0
    finally:
        store.close()


def run_cycle(config: Config, *, now: float | None = None,
              woke: str | None = None) -> CycleResult:
    """One cycle. ``woke`` is what the loop says came before it (its nap's answer,
    ``followup`` or ``start``): counted with the wake file's reasons, see ``nap.py``."""
    paths = Paths(config.root)
    try:
        paths.ensure()
    except OSError as exc:
        return CycleResult(0, "error", [], max(config.sleep.after_action, 30.0),
                           [f"cannot create {paths.runtime}: {exc}"])
    lock = AdminLock(paths.lock)
    if not lock.acquire():
        return CycleResult(_last_cycle_number(paths), "busy", [], config.sleep.after_action)
    try:
        return _locked_cycle(config, paths, now, woke)
    except Exception as exc:  # disk full, a corrupt db...: report, back off, never crash-loop
        log.failure(paths, "cycle failed", exc)
        return CycleResult(_last_cycle_number(paths), "error", [],
                           min(config.sleep.idle, max(config.sleep.after_action, 30.0)),
                           [describe_error(paths, exc)])
    finally:
        lock.release()


def _locked_cycle(config: Config, paths: Paths, now: float | None,
                  woke: str | None) -> CycleResult:
    reap_children()
    wakes = wake_reasons(woke, consume_wake(paths))  # a wake during this cycle shows at nap
    started = time.time() if now is None else now
    writer = StateWriter(paths, on_migration_step=faults.migration_step)
    store = writer.store
    faults.disk_full(store.conn)
    tracker = None
    try:
        number = store.begin_cycle(started)
        import_requests(paths, store)
        problems: list[str] = []
        try:
            tracker = open_tracker(config, store)
            sync(config, store, tracker)
        except TrackerError as exc:
            problems.append(f"tracker: {exc}")
        snap = observe(config, paths, store, started, problems)
        decision = ladder.decide(snap)  # a tracker that failed to open is a health problem
        if decision.rung == "sleep" and store.has_pending_writes():
            decision = ladder.Decision("unblock", (ladder.Action("flush"),))
        record_sandbox(config, store, decision)
        actions: list[str]
        errors: list[str]
        if tracker is None:
            actions, errors = [f"unhealthy: {p}" for p in problems], []
        elif not decision.actions:  # nothing to do: no handler is loaded
            actions, errors = [], []
        else:
            from shiftctl.admin.cycle.context import CycleContext
            from shiftctl.admin.cycle.executor import execute
            actions, errors = execute(CycleContext(config, paths, store, tracker, snap), decision)
        failed = bool(errors) and not actions
        then = None
        if decision.rung not in ("sleep", "health") and not errors:
            after = observe(config, paths, store, time.time())
            then = (after, ladder.decide(after))
        sleep_s = ladder.sleep_hint(snap, decision, failed=failed, then=then)
        if tracker is not None:  # a quota running low stretches the nap
            sleep_s = max(sleep_s, quota.pause(remember(store, tracker), time.time()))
        streak = snap.unhealthy_streak + 1 if decision.rung == "health" or failed else 0
        if streak != snap.unhealthy_streak:
            store.put("unhealthy_streak", str(streak))
        store.end_cycle(number, decision.rung, actions, sleep_s,
                        "; ".join(errors)[:4000] if errors else None, wakes=wakes)
        broken = writer.seal(started)
        if broken:
            errors = [*errors, f"audit: {broken}"]
        progress = ladder.progressable(snap) if decision.rung == "sleep" else True
        return CycleResult(number, decision.rung, actions, sleep_s, errors, progress,
                           tracker.requests if tracker is not None else 0)
    finally:
        if tracker is not None:
            tracker.close()
        writer.close()


def snapshot_for(config: Config) -> Snapshot:
    """A read-only look, as the next cycle would see it (for status and tests)."""
    paths = Paths(config.root)
    store = Store.open(paths.state_db, readonly=True)
    try:
        return observe(config, paths, store)
    finally:
        store.close()
