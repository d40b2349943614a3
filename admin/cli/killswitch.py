"""``shiftctl stop`` / ``start``: the kill switch is a file, so it needs no state write.

While ``.shiftctl/STOP`` exists the assign rung dispatches nothing and the workers rung ends
anything still running; ``stop`` also ends the workers at once itself.
"""
from __future__ import annotations

from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.steps.dispatch import terminate
from shiftctl.memory.db import StateError
from shiftctl.memory.store import Store
from shiftctl.system.fs import touch, wake


def engage(config: Config) -> list[str]:
    paths = Paths(config.root)
    paths.ensure()
    touch(paths.stop)
    out = ["kill switch on: nothing new is dispatched"]
    try:
        store = Store.open(paths.state_db, readonly=True)
    except StateError:
        return out
    try:
        runs = [r for r in store.open_runs() if r.pgid or r.launcher]
    finally:
        store.close()
    if runs:
        terminate(*runs, config=config)
        out.append(f"ended {len(runs)} worker(s): " + ", ".join(r.id for r in runs))
    wake(paths.wake, "cli")
    return out


def release(config: Config) -> str:
    paths = Paths(config.root)
    paths.stop.unlink(missing_ok=True)
    wake(paths.wake, "cli")
    return "kill switch off: dispatching resumes on the next cycle"
