"""Live updates: one watcher per server notices that something changed; every open page is
told over server-sent events and fetches its own fresh content.

The watcher looks only at files' ``stat``: the state db and its WAL (every committed change
moves the WAL), the local tracker's file, the kill switch, and the heartbeats of the runs
that were open at the last change. It never queries SQLite while nothing changes, never
holds a read transaction, and looks at all only while a page is open, so a dashboard
nobody watches costs the admin nothing (``scripts/bench.py``: ``idle_cycle_ms_with_serve``).
"""
from __future__ import annotations

import asyncio
import codecs
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from shiftctl.admin.paths import Paths
from shiftctl.admin.serve.views import reading

POLL_S = 0.5
KEEPALIVE_S = 15.0
LOG_POLL_S = 0.5
LOG_CHUNK = 64 * 1024


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Probe:
    """A fingerprint of everything a page shows; it differs whenever a page would."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._db: Any = None
        self._heartbeats: list[Path] = []

    def _open_runs(self) -> list[Path]:
        with reading(self.paths) as store:
            if store is None:
                return []
            return [self.paths.run_dir(r.id) / "heartbeat" for r in store.open_runs()]

    def __call__(self) -> tuple[Any, ...]:
        db = (_stat(self.paths.state_db),
              _stat(self.paths.state_db.with_name(self.paths.state_db.name + "-wal")))
        if db != self._db:  # the state changed: which runs are open may have, too
            self._db = db
            self._heartbeats = self._open_runs()
        return (db, _stat(self.paths.tracker_db), self.paths.stop.exists(),
                tuple(_stat(p) for p in self._heartbeats))


class Watcher:
    """Polls ``probe`` while anyone listens; ``version`` goes up on every change."""

    def __init__(self, probe: Callable[[], Any], interval: float = POLL_S) -> None:
        self.probe = probe
        self.interval = interval
        self.version = 0
        self.listeners = 0
        self._last: Any = None
        self._changed = asyncio.Event()
        self._wanted = asyncio.Event()

    async def run(self) -> None:
        """The one polling task of the server (started and cancelled by the app)."""
        while True:
            if not self.listeners:
                self._wanted.clear()
                await self._wanted.wait()
            now = await asyncio.to_thread(self.probe)
            if now != self._last:
                self._last = now
                self.version += 1
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()
            await asyncio.sleep(self.interval)

    async def changes(self) -> AsyncIterator[int | None]:
        """Versions as they change; None every ``KEEPALIVE_S`` without one."""
        self.listeners += 1
        self._wanted.set()
        seen = self.version
        try:
            while True:
                if self.version == seen:
                    try:
                        await asyncio.wait_for(self._changed.wait(), KEEPALIVE_S)
                    except TimeoutError:
                        yield None
                        continue
                seen = self.version
                yield seen
        finally:
            self.listeners -= 1


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


async def change_stream(watcher: Watcher) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async for version in watcher.changes():
        yield ": keepalive\n\n" if version is None else sse("change", str(version))


async def log_stream(path: Path, offset: int, still_open: Callable[[], bool],
                     poll: float = LOG_POLL_S) -> AsyncIterator[str]:
    """Follow a log from ``offset``: each new piece as a ``log`` event (JSON text, which the
    page adds as text, never as markup); ``end`` once its run has ended and all is sent."""
    import json
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    quiet = 0.0
    yield "retry: 2000\n\n"
    while True:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(LOG_CHUNK)
        except OSError:
            data = b""
        if data:
            offset += len(data)
            quiet = 0.0
            yield sse("log", json.dumps(decoder.decode(data)))
            continue
        if not await asyncio.to_thread(still_open):
            yield sse("end", json.dumps(decoder.decode(b"", final=True)))
            return
        await asyncio.sleep(poll)
        quiet += poll
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keepalive\n\n"
