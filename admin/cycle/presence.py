"""Whether a loop runs here: ``run`` and the supervised shell loop write their pid (and its
start time, so a reused pid is not taken for them) to ``.shiftctl/loop.pid``; ``status``
reads it, and says "no loop running" instead of a next wake nobody will keep."""
from __future__ import annotations

import contextlib
import os

from shiftctl.admin.paths import Paths
from shiftctl.system.fs import atomic_write
from shiftctl.system.proc import proc_stat, process_alive


def record(paths: Paths, pid: int | None = None) -> None:
    pid = pid or os.getpid()
    stat = proc_stat(pid)
    with contextlib.suppress(OSError):  # a runtime directory being recreated: next cycle
        atomic_write(paths.loop_pid, f"{pid} {stat[1] if stat else ''}".strip() + "\n",
                     durable=False)


def clear(paths: Paths, pid: int | None = None) -> None:
    """Remove the file if it names this process (a newer loop's stays)."""
    if loop_pid(paths, alive_only=False) == (pid or os.getpid()):
        with contextlib.suppress(OSError):
            paths.loop_pid.unlink()


def loop_pid(paths: Paths, *, alive_only: bool = True) -> int | None:
    """The pid of the loop running here, or None (no file, or its process is gone)."""
    try:
        fields = paths.loop_pid.read_text()[:100].split()
    except OSError:
        return None
    if not fields or not fields[0].isdigit():
        return None
    pid = int(fields[0])
    start = fields[1] if len(fields) > 1 and fields[1].isdigit() else None
    if alive_only and not process_alive(pid, start):
        return None
    return pid
