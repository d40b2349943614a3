"""Run one child in its own process group with a total timeout and a stall timeout.

The stall timer measures silence (no bytes on stdout or stderr), not total time, so an
agent that streams events can work for an hour while one that hangs is killed in minutes.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

KILL_GRACE_S = 5.0
STDOUT_KEEP = 4 * 1024 * 1024
STDERR_KEEP = 256 * 1024  # the tail, where a CLI's final error is
LOG_LIMIT = 64 * 1024 * 1024


@dataclass
class ProcResult:
    exit_code: int | None
    stdout: str
    how: str  # exited | timed_out | stalled | killed | not_found
    duration: float
    started_at: float
    ended_at: float
    stderr: str = ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_groups(pgids: Sequence[int], grace: float = KILL_GRACE_S) -> None:
    """SIGTERM every group, then SIGKILL whatever is left after ``grace`` seconds."""
    live = []
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
            live.append(pgid)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = [g for g in live if _group_alive(g)]
        if live:
            time.sleep(0.05)
    for pgid in live:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_group(pgid: int, grace: float = KILL_GRACE_S) -> None:
    kill_groups([pgid], grace)


class _LineSplitter:
    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.buf = b""

    def feed(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.on_line(line.decode("utf-8", "replace"))

    def flush(self) -> None:
        if self.buf:
            self.on_line(self.buf.decode("utf-8", "replace"))
            self.buf = b""


def run_process(argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: IO[bytes],
                timeout: float, stall_timeout: float | None = None,
                stdin_path: Path | None = None,
                on_output: Callable[[], None] | None = None,
                on_line: Callable[[str], None] | None = None,
                on_start: Callable[[int], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> ProcResult:
    """Run ``argv``; stdout and stderr both go to ``log``; stdout and the tail of stderr are
    also returned."""
    started = time.time()
    with ExitStack() as opened:  # the child has its own copy of stdin; ours closes at once
        stdin: IO[bytes] | int = subprocess.DEVNULL
        if stdin_path:
            stdin = opened.enter_context(open(stdin_path, "rb"))
        try:
            proc = subprocess.Popen(list(argv), cwd=str(cwd), env=env, stdin=stdin,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    process_group=0)
        except FileNotFoundError as exc:
            log.write(f"[shiftctl] cannot start {argv[0]!r}: {exc}\n".encode())
            return ProcResult(127, "", "not_found", 0.0, started, time.time())
    if on_start:
        on_start(proc.pid)
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    out_chunks: list[bytes] = []
    out_size = 0
    err_chunks: list[bytes] = []
    err_size = 0
    logged = 0
    splitter = _LineSplitter(on_line) if on_line else None
    t0 = time.monotonic()
    last_output = t0
    how = "exited"
    open_streams = 2
    drain_until: float | None = None
    while open_streams:
        now = time.monotonic()
        if drain_until is None and proc.poll() is not None:
            drain_until = now + 2.0  # a grandchild may still hold the pipes open
        if drain_until is not None and now > drain_until:
            break
        if now - t0 > timeout:
            how = "timed_out"
            break
        if stall_timeout is not None and now - last_output > stall_timeout:
            how = "stalled"
            break
        if should_stop and should_stop():
            how = "killed"
            break
        for key, _ in sel.select(timeout=0.2):
            data = os.read(key.fileobj.fileno(), 65536)  # type: ignore[union-attr]
            if not data:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            last_output = time.monotonic()
            if on_output:
                on_output()
            if logged < LOG_LIMIT:
                log.write(data)
                log.flush()
                logged += len(data)
            if key.data == "out":
                out_chunks.append(data)
                out_size += len(data)
                while out_size > STDOUT_KEEP and len(out_chunks) > 1:
                    out_size -= len(out_chunks.pop(0))
                if splitter:
                    splitter.feed(data)
            else:
                err_chunks.append(data)
                err_size += len(data)
                while err_size > STDERR_KEEP and len(err_chunks) > 1:
                    err_size -= len(err_chunks.pop(0))
    if how != "exited":
        log.write(f"\n[shiftctl] {how}: killing process group {proc.pid}\n".encode())
        kill_group(proc.pid)
    sel.close()
    proc.stdout.close()
    proc.stderr.close()
    try:
        code = proc.wait(timeout=KILL_GRACE_S * 2)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid, grace=0)
        code = proc.wait()
    if how == "exited":
        # The leader exited; take its group down too so no grandchild outlives the attempt.
        kill_group(proc.pid, grace=1.0)
    if splitter:
        splitter.flush()
    ended = time.time()
    return ProcResult(code, b"".join(out_chunks).decode("utf-8", "replace"), how,
                      ended - started, started, ended,
                      stderr=b"".join(err_chunks).decode("utf-8", "replace"))
