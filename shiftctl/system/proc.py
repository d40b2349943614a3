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


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    state: str  # R, S, D, Z (zombie), X (dead), T (stopped), ...
    ppid: int
    pgrp: int
    start: str = ""  # start time in clock ticks since boot: with the pid, who it is


def _read_stat(pid: int) -> ProcInfo | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    rest = raw[raw.rfind(")") + 2:].split()
    try:
        return ProcInfo(pid, rest[0], int(rest[1]), int(rest[2]), rest[19])
    except (IndexError, ValueError):
        return None


def process_table() -> dict[int, ProcInfo]:
    """Every process this kernel shows us, from /proc (empty where there is no /proc)."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    for name in names:
        if name.isdigit() and (info := _read_stat(int(name))) is not None:
            table[info.pid] = info
    return table


def _living(info: ProcInfo) -> bool:
    return info.state not in ("Z", "X")


def descendants(root: int, table: dict[int, ProcInfo] | None = None) -> list[int]:
    """Every process below ``root`` by parent links, whatever its group or session (a
    ``setsid`` does not hide it; a double fork does, unless ``root`` is a subreaper)."""
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    out: list[int] = []
    frontier = [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in out and child != root:
                out.append(child)
                frontier.append(child)
    return out


def become_subreaper() -> bool:
    """Make orphaned descendants (a double fork, ``setsid`` or not) children of this process,
    so that ``end_descendants`` finds them (Linux ``PR_SET_CHILD_SUBREAPER``)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap(pids: Sequence[int]) -> None:
    """Collect the exit status of those of ``pids`` that are our own dead children."""
    me = os.getpid()
    for pid in pids:
        info = _read_stat(pid)
        if info is not None and info.ppid == me and not _living(info):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def end_descendants(root: int, *, spare: Sequence[int] = ()) -> list[int]:
    """SIGKILL every living descendant of ``root`` except the subtrees of ``spare``.

    Each one found is stopped (SIGSTOP) before the next walk, so nothing can fork away
    between two walks; the walk repeats until it finds nothing new, then all of them die at
    once and our own children among them are reaped. Returns the pids ended."""
    if not Path("/proc/self/stat").exists():
        return []
    found: list[int] = []
    while True:
        table = process_table()
        spared = set(spare)
        for pid in spare:
            spared.update(descendants(pid, table))
        new = [p for p in descendants(root, table) if p not in spared and p not in found
               and _living(table[p])]
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        found += new
    for pid in found:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_GRACE_S
    while found and time.monotonic() < deadline:
        _reap(found)
        if not any((i := _read_stat(p)) is not None and _living(i) for p in found):
            break
        time.sleep(0.02)
    _reap(found)
    return found


def _children(pid: int) -> list[int]:
    return [i.pid for i in process_table().values() if i.ppid == pid]


def _group_members(pgid: int) -> list[ProcInfo] | None:
    """The processes of a group, zombies included; None where /proc cannot tell."""
    if not Path("/proc/self/stat").exists():
        return None
    return [i for i in process_table().values() if i.pgrp == pgid]


def _group_alive(pgid: int, *, reap: bool) -> bool:
    """Is any process of the group still running? A zombie is not: it is only waiting to
    be reaped (and is reaped here when it is our child and ``reap`` is set)."""
    members = _group_members(pgid)
    if members is None:  # no /proc: the signal test, which counts zombies as alive
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    if reap:
        _reap([m.pid for m in members if not _living(m)])
    return any(_living(m) for m in members)


def kill_groups(pgids: Sequence[int], grace: float = KILL_GRACE_S, *,
                reap: bool = True) -> None:
    """SIGTERM every group, then SIGKILL whatever is left after ``grace`` seconds.

    Returns as soon as nothing of the groups runs any more (a zombie does not count);
    ``reap`` collects those that are our own children (off when the caller waits for its
    child itself, to keep its exit status)."""
    live = []
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
            live.append(pgid)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = [g for g in live if _group_alive(g, reap=reap)]
        if live:
            time.sleep(0.05)
    for pgid in live:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if reap and live:
        for pgid in live:
            _group_alive(pgid, reap=True)


def kill_group(pgid: int, grace: float = KILL_GRACE_S, *, reap: bool = True) -> None:
    kill_groups([pgid], grace, reap=reap)


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
        before = _children(os.getpid())
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
        kill_group(proc.pid, reap=False)  # proc.wait below keeps the exit status
    sel.close()
    proc.stdout.close()
    proc.stderr.close()
    try:
        code = proc.wait(timeout=KILL_GRACE_S * 2)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid, grace=0, reap=False)
        code = proc.wait()
    if how == "exited":
        # The leader exited; take its group down too so no grandchild outlives the attempt.
        kill_group(proc.pid, grace=1.0)
    # ... and whatever left the group (``setsid``) and was handed to us as an orphan (we are
    # a subreaper in the worker): the child's whole tree ends with it
    leftovers = end_descendants(os.getpid(), spare=before)
    if leftovers:
        log.write(f"\n[shiftctl] ended {len(leftovers)} process(es) left behind by "
                  f"{argv[0]!r}\n".encode())
    if splitter:
        splitter.flush()
    ended = time.time()
    return ProcResult(code, b"".join(out_chunks).decode("utf-8", "replace"), how,
                      ended - started, started, ended,
                      stderr=b"".join(err_chunks).decode("utf-8", "replace"))


def proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, or None when it does not exist."""
    info = _read_stat(pid)
    return (info.state, info.start) if info is not None else None


def process_alive(pid: int | None, start: str | None) -> bool:
    """True for a live (non-zombie) process that is the same one we started."""
    if not pid:
        return False
    if not Path("/proc/self/stat").exists():  # not Linux: best effort
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    info = _read_stat(pid)
    if info is None or not _living(info):
        return False
    return start is None or info.start == start
