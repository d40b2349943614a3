"""``shiftctl logs RUN|TASK [-f]``: read or follow a run's agent log.

TASK (ISSUE-KEY, e.g. 12-t2) means its latest run. The log is the agent's output, so what
reaches the terminal is made visible (``untrusted.clean_code``: escape sequences and other
hidden characters shown as ``<U+XXXX>``, never interpreted), and it is opened without
following a link an agent may have put in its place.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.admin.untrusted import clean_code
from shiftctl.memory.db import StateMissing
from shiftctl.memory.store import Run, Store

CHUNK = 65536
FILES = ("agent.log", "worker.log")


class LogError(Exception):
    pass


def _find(store: Store, ref: str) -> Run:
    run = store.run(ref)
    if run is not None:
        return run
    task = store.task_by_ref(ref.lstrip("#"))
    if task is None:
        raise LogError(f"no run or task {ref!r} (a run id from `shiftctl status` or "
                       "`shiftctl memory list --episodes`, or a task as ISSUE-KEY, e.g. 12-t2)")
    runs = store.runs(task_id=task.id)
    if not runs:
        raise LogError(f"task {task.ref} has not run yet")
    return runs[-1]


def resolve(paths: Paths, ref: str) -> Run:
    try:
        store = open_reader(paths)
    except StateMissing:
        raise LogError(f"nothing has run here yet ({paths.state_db} does not exist)") from None
    try:
        return _find(store, ref)
    finally:
        store.close()


def ended(paths: Paths, run_id: str) -> bool:
    try:
        store = open_reader(paths)
    except StateMissing:
        return True
    try:
        run = store.run(run_id)
        return run is None or run.ended_at is not None
    finally:
        store.close()


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise LogError(f"{path} does not exist (yet)") from None
    except OSError as exc:
        raise LogError(f"{path}: cannot read ({exc.strerror}; a link is never followed)") \
            from None


def chunks(path: Path, *, follow: bool, done: Callable[[], bool],
           poll: float = 0.5) -> Iterator[str]:
    """The log's text, cleaned; with ``follow``, then what is appended until the run ends."""
    fd = _open(path)
    try:
        pending = b""
        while True:
            data = os.read(fd, CHUNK)
            if data:
                pending += data
                cut = pending.rfind(b"\n") + 1 if follow else len(pending)
                if cut:  # following: whole lines only, so a character is never split
                    yield clean_code(pending[:cut].decode("utf-8", "replace"))
                    pending = pending[cut:]
                continue
            if not follow:
                return
            if done():  # ended: what it wrote last is read above, once more below
                rest = os.read(fd, CHUNK)
                if not rest:
                    if pending:
                        yield clean_code(pending.decode("utf-8", "replace"))
                    return
                pending += rest
                continue
            time.sleep(poll)
    finally:
        os.close(fd)
