"""Running workers as a person watches them: task, elapsed time, last agent activity,
tokens and cost so far (what the agent's stream reported, carried by the worker's
heartbeat, see ``shiftctl.worker.progress``). Read-only.

The heartbeat lies in the run directory, which an unsandboxed agent can write: its numbers
are bounded and its text cleaned before anything is shown.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from shiftctl.admin import humanize, launchers
from shiftctl.admin.config import Config
from shiftctl.admin.cycle.snapshot import view_run
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.admin.untrusted import one_line
from shiftctl.memory.db import StateMissing
from shiftctl.memory.store import Run, Store

MAX_COUNT = 1 << 40


def _count(value: Any) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNT
    return value if ok else 0


def _cost(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e9
    return float(value) if ok else 0.0


def heartbeat(paths: Paths, run: Run) -> dict[str, Any]:
    """The run's heartbeat: its phase and progress, bounded and cleaned ({} if none)."""
    if not run.run_dir:
        return {}
    try:
        data = json.loads((paths.run_dir(run.id) / "heartbeat").read_text()[:65536])
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    found = data.get("progress")
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    phase = data.get("phase")
    return {"phase": one_line(phase, 20) if isinstance(phase, str) else None,
            "tokens_in": _count(raw.get("tokens_in")), "tokens_out": _count(raw.get("tokens_out")),
            "turns": _count(raw.get("turns")), "cost_usd": _cost(raw.get("cost_usd")),
            "activity": one_line(raw.get("activity") if isinstance(raw.get("activity"), str)
                                 else "", 160)}


def workers(store: Store, paths: Paths, now: float,
            config: Config | None = None) -> list[dict[str, Any]]:
    """Every open run with what its heartbeat says (and which host runs it)."""
    out = []
    launcher_of = launchers.Picker(config, paths)
    for run in store.open_runs():
        rv = view_run(run, store.task(run.task_id) if run.task_id else None, now,
                      launcher_of(run))
        beat = heartbeat(paths, run)
        out.append({"run": run.id, "kind": run.kind, "issue": run.issue,
                    "task": rv.task.ref if rv.task else None,
                    "profile": run.profile, "pid": run.pid, "alive": rv.seen.alive,
                    "host": rv.seen.host, "started_at": run.started_at, "age_s": round(rv.age, 1),
                    "heartbeat_age_s": _tenths(rv.seen.heartbeat_age),
                    "output_age_s": _tenths(rv.seen.output_age),
                    "phase": beat.get("phase"),
                    "tokens_in": beat.get("tokens_in", 0), "tokens_out": beat.get("tokens_out", 0),
                    "turns": beat.get("turns", 0), "cost_usd": beat.get("cost_usd", 0.0),
                    "activity": beat.get("activity", "")})
    return out


def line(w: dict[str, Any], width: int = 160) -> str:
    """``3-t1  claude  2m05s  agent  12.3k/1.2k tok  7 turns  $0.042  Bash: pytest -q``."""
    who = w["task"] or f"#{w['issue']} {w['kind']}"
    parts = [f"{who:<8}", w["profile"] or "?", humanize.duration(w["age_s"]),
             w["phase"] or "?",
             f"{humanize.tokens(w['tokens_in'])}/{humanize.tokens(w['tokens_out'])} tok"]
    if w["turns"]:
        parts.append(f"{w['turns']} turns")
    parts.append(humanize.money(w["cost_usd"]))
    if w["activity"]:
        parts.append(w["activity"])
    return humanize.clip("  ".join(parts), width)


def running(paths: Paths, now: float | None = None) -> list[dict[str, Any]]:
    try:
        store = open_reader(paths)
    except StateMissing:
        return []
    try:
        return workers(store, paths, time.time() if now is None else now)
    finally:
        store.close()


class Ticker:
    """Prints a progress line per running worker every ``every`` seconds, from a thread,
    while ``run`` cycles and naps (the same lock serialises it with the cycle lines)."""

    def __init__(self, paths: Paths, echo: Callable[[str], None], every: float = 5.0) -> None:
        self.paths = paths
        self.echo = echo
        self.every = every
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="progress")

    def say(self, text: str) -> None:
        with self.lock:
            self.echo(text)
            sys.stdout.flush()  # whoever reads through a pipe sees it now

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                rows = running(self.paths)
            except Exception:  # a busy or damaged db: the next cycle line says what is wrong
                continue
            for w in rows:
                self.say("  … " + line(w))

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _tenths(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
