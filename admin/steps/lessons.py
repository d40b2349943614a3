"""``shiftctl memory add|retire``: lessons a person changes, through the single writer.

The CLI never writes the state db itself. It drops a request file (``inbox.submit``); the
holder of the admin lock applies it as a ``commands`` row. So that a person sees the new
lesson at once, the CLI then tries the lock without waiting: if it gets it, it *is* the single
writer for that moment and applies the memory requests right away; if a cycle holds the lock,
the request stays queued and that cycle (or the next) applies it.
"""
from __future__ import annotations

import time

from shiftctl.admin.cycle.lock import AdminLock
from shiftctl.admin.inbox import import_requests, submit
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import StateWriter
from shiftctl.memory import lessons
from shiftctl.memory.store import Command, Store

VERBS = ("memory_add", "memory_retire")
MAX_LESSON_CHARS = lessons.MAX_TEXT


def apply(store: Store, cmd: Command) -> str:
    """Carry out one memory command; the result is what the person is told."""
    if cmd.verb == "memory_add":
        text = lessons.normalize(cmd.text)
        if not text:
            return "refused: a lesson needs some text"
        lesson_id, how = lessons.add(store.conn, text[:MAX_LESSON_CHARS], source=cmd.author)
        return f"lesson {lesson_id} {how}"
    if cmd.verb == "memory_retire":
        if not cmd.arg.isdigit():
            return f"refused: {cmd.arg!r} is not a lesson id"
        return lessons.retire(store.conn, int(cmd.arg), cmd.text or f"retired by {cmd.author}")
    return f"unknown memory command {cmd.verb!r}"


def apply_pending(store: Store) -> list[tuple[Command, str]]:
    """Every queued memory command, applied and marked; other commands wait for a cycle."""
    done = []
    for cmd in store.pending_commands():
        if cmd.verb in VERBS:
            with store.tx():
                result = apply(store, cmd)
                store.mark_command(cmd, result)
            done.append((cmd, result))
    return done


def request(paths: Paths, verb: str, *, arg: str = "", text: str = "") -> str | None:
    """Queue a memory command and apply it now if the admin lock is free.

    Returns the command's result, or None when a cycle holds the lock (it stays queued).
    """
    source = f"cli:{submit(paths, verb, arg=arg, text=text).name}"
    lock = AdminLock(paths.lock)
    if not lock.acquire():
        return None
    try:
        writer = StateWriter(paths)  # it writes events: signed, and the anchor sealed after
        try:
            store = writer.store
            import_requests(paths, store)
            apply_pending(store)
            row = store.conn.execute("SELECT result FROM commands WHERE source = ? "
                                     "AND applied_at IS NOT NULL", (source,)).fetchone()
            writer.seal(time.time())
        finally:
            writer.close()
    finally:
        lock.release()
    return str(row[0]) if row else None
