"""The anchor file: the newest signed event's id and MAC, and the log's recorded history.

Sealing moves the anchor to the newest event, but only after checking that the old anchor
still holds. Otherwise a truncation (or a rewrite) followed by one more cycle would leave an
anchor that agrees with the damaged log and the evidence would be gone. So a break the
sealer finds goes into the file's ``history`` for good, and ``audit verify`` keeps reporting
it until a person accepts it (``shiftctl audit accept``). A ``state restore`` is recorded as
such: it explains the truncation it causes, and nothing more.

Only the key holder writes this file (the single writer of the state db, under the admin
lock, and ``state restore``); it lives next to the key, outside ``.shiftctl/``.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.admin.audit.keys import all_keys, private_dir
from shiftctl.admin.paths import Paths
from shiftctl.memory import audit
from shiftctl.memory.audit import Anchor
from shiftctl.memory.events import AuditKey
from shiftctl.system.fs import atomic_write

VERSION = 1
RESTORE = "restore"
STARTED_OVER = "started_over"
ANCHOR_MISSING = "anchor_missing"


class AnchorError(Exception):
    """The anchor file exists but cannot be read; the message names it."""


def utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


@dataclass
class AnchorFile:
    repo: str
    anchor: Anchor | None = None
    sealed_at: float | None = None
    pending_restore: dict[str, Any] | None = None  # a restore the loop has not sealed yet
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "repo": self.repo,
                "anchor": self.anchor.__dict__ if self.anchor else None,
                "sealed_at": self.sealed_at, "pending_restore": self.pending_restore,
                "history": self.history}

    @classmethod
    def from_json(cls, data: Any) -> AnchorFile:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} anchor")
        raw = data.get("anchor")
        anchor = None
        if raw is not None:
            if not (isinstance(raw, dict) and isinstance(raw.get("event"), int)
                    and isinstance(raw.get("mac"), str) and isinstance(raw.get("key_id"), str)):
                raise ValueError("its anchor needs event, mac and key_id")
            anchor = Anchor(raw["event"], raw["mac"], raw["key_id"])
        history = data.get("history") or []
        pending = data.get("pending_restore")
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history) \
                or not isinstance(pending, (dict, type(None))):
            raise ValueError("its history or pending restore is malformed")
        return cls(repo=str(data.get("repo") or ""), anchor=anchor,
                   sealed_at=data.get("sealed_at"), pending_restore=pending, history=history)

    def unaccepted(self) -> list[dict[str, Any]]:
        """Breaks nobody has accepted yet (restores are a person's own doing)."""
        return [h for h in self.history if h.get("kind") != RESTORE and not h.get("accepted_at")]


def read(paths: Paths) -> AnchorFile | None:
    path = paths.audit_anchor
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorError(f"{path}: cannot read: {exc}") from exc
    try:
        return AnchorFile.from_json(json.loads(text))
    except ValueError as exc:
        raise AnchorError(f"{path}: not an audit anchor ({exc}); it was damaged or edited")\
            from exc


def write(paths: Paths, af: AnchorFile) -> None:
    private_dir(paths.audit_dir)
    atomic_write(paths.audit_anchor, json.dumps(af.to_json(), indent=1) + "\n")  # 0600


def _entry(kind: str, now: float, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "at": now, "message": message, **extra}


def _row_hash(conn: sqlite3.Connection, event: int) -> str | None:
    row = conn.execute("SELECT hash FROM events WHERE id = ?", (event,)).fetchone()
    return None if row is None else str(row[0])


def restore_explains(conn: sqlite3.Connection, restore: dict[str, Any]) -> bool:
    """Does the log still hold exactly the restored backup's events? (Equal chain hashes at
    the backup's last event mean equal events up to it; no key needed.)"""
    event = restore.get("event") or 0
    return event == 0 or _row_hash(conn, int(event)) == restore.get("hash")


def _restore_entry(restore: dict[str, Any], lost_to: int | None) -> dict[str, Any]:
    last = int(restore.get("event") or 0)
    if lost_to is None:
        lost = ""
    elif lost_to > last:
        lost = f"; events {last + 1}..{lost_to} recorded before the restore are lost"
    else:
        lost = "; no anchored event was lost"
    return _entry(RESTORE, float(restore.get("at") or 0), (
        f"state.db was restored from {restore.get('backup')} at "
        f"{utc(float(restore.get('at') or 0))} (it ends at event {last}){lost}"),
        backup=restore.get("backup"), event=last, lost_to=lost_to)


def _break(conn: sqlite3.Connection, af: AnchorFile, problem: audit.Problem, now: float,
           fresh: bool) -> list[dict[str, Any]]:
    """What to record when the old anchor no longer holds."""
    assert af.anchor is not None
    restore = af.pending_restore
    if restore is not None and restore_explains(conn, restore):
        af.pending_restore = None
        return [_restore_entry(restore, af.anchor.event)]
    if fresh:
        return [_entry(STARTED_OVER, now, (
            f"state.db was missing and a new one was started at {utc(now)}: the old log's "
            f"events 1..{af.anchor.event} are gone"), event=af.anchor.event)]
    return [_entry(problem.kind, now, (
        f"{problem.message} (found by the loop at {utc(now)}; the anchor then moved on so that "
        "new events stay protected)"), event=problem.event)]


def _keys_for(paths: Paths, key: AuditKey, key_id: str) -> dict[str, AuditKey]:
    return {key.id: key} if key_id == key.id else all_keys(paths)[0]


def signed_by(conn: sqlite3.Connection, key_id: str) -> bool:
    return conn.execute("SELECT 1 FROM events WHERE key_id = ? LIMIT 1",
                        (key_id,)).fetchone() is not None


def _head(conn: sqlite3.Connection, key: AuditKey) -> Anchor | None:
    """The newest event, if it is signed and, when by our key, its MAC holds: an anchor is
    never put on a row that was forged (a forged tail keeps failing the walk instead)."""
    head = audit.newest(conn)
    if head is None or not head[1] or not head[2]:
        return None
    if head[2] == key.id:
        row_hash = _row_hash(conn, head[0])
        if row_hash is None or not key.verifies(row_hash, head[1]):
            return None
    return Anchor(head[0], head[1], head[2])


@dataclass(frozen=True)
class Before:
    """How the anchor stood when a writer opened the log, before it wrote anything: checked
    then, a truncation reads as one (after new events refill the ids it would not)."""

    problem: audit.Problem | None = None
    orphaned: bool = False  # our key had signed events, but the anchor file was gone


def look(conn: sqlite3.Connection, paths: Paths, key: AuditKey | None) -> Before:
    if key is None:
        return Before()
    try:
        af = read(paths)
    except AnchorError:
        return Before()  # the seal keeps the damaged file and says so
    if af is None:
        return Before(orphaned=signed_by(conn, key.id))
    if af.anchor is None:
        return Before()
    return Before(audit.check_anchor(conn, af.anchor, _keys_for(paths, key, af.anchor.key_id)))


def seal(conn: sqlite3.Connection, paths: Paths, key: AuditKey | None, *, now: float,
         fresh: bool = False, before: Before | None = None) -> str | None:
    """Record a break if the anchor no longer holds (as it stood ``before`` this writer wrote,
    or now), then move it to the newest event. Returns the break recorded, if any. Writes
    the file only when it changes."""
    if key is None:
        return None
    before = before or Before()
    recorded: list[dict[str, Any]] = []
    try:
        af = read(paths)
    except AnchorError as exc:  # keep the damaged file as evidence; start a new one
        kept = paths.audit_anchor.with_name(f"{paths.audit_anchor.name}.unreadable-{int(now)}")
        paths.audit_anchor.rename(kept)
        af = None
        recorded.append(_entry(ANCHOR_MISSING, now, (
            f"the anchor file was unreadable ({exc}); kept as {kept} and started anew at "
            f"{utc(now)}: a truncation before then cannot be ruled out")))
    changed = af is None
    if af is None:
        af = AnchorFile(repo=str(paths.root.resolve()))
        if before.orphaned and not recorded:
            recorded.append(_entry(ANCHOR_MISSING, now, (
                f"the anchor file {paths.audit_anchor} was missing although this repository's "
                f"key had signed events (noticed at {utc(now)}): a truncation before then "
                "cannot be ruled out")))
    elif af.anchor is not None:
        problem = before.problem or audit.check_anchor(
            conn, af.anchor, _keys_for(paths, key, af.anchor.key_id))
        if problem is not None:
            recorded += _break(conn, af, problem, now, fresh)
    if af.pending_restore is not None:  # not the explanation of a break: file it as it is
        lost_to = af.anchor.event if af.anchor is not None and not recorded else None
        recorded.append(_restore_entry(af.pending_restore, lost_to))
        af.pending_restore = None
    anchor = _head(conn, key)
    if recorded or anchor != af.anchor:
        af.history += recorded
        af.anchor = anchor
        changed = True
    if changed:
        af.sealed_at = now
        write(paths, af)
    failures = [h["message"] for h in recorded if h["kind"] != RESTORE]
    return "; ".join(failures) or None


def record_restore(paths: Paths, backup: Path, event: int, row_hash: str | None,
                   now: float) -> None:
    """Note a restore before the loop runs again: ``audit verify`` explains the truncation
    by it, and the next seal files it in the history."""
    af = read(paths) or AnchorFile(repo=str(paths.root.resolve()))
    if af.pending_restore is not None:  # restored twice before the loop sealed either
        af.history.append(_restore_entry(af.pending_restore, None))
    af.pending_restore = {"backup": str(backup), "at": now, "event": event, "hash": row_hash}
    write(paths, af)


def accept(paths: Paths, now: float, who: str) -> list[str]:
    """A person looked at the recorded breaks: mark them accepted (they stay listed)."""
    af = read(paths)
    if af is None:
        return []
    accepted = af.unaccepted()
    for h in accepted:
        h["accepted_at"] = now
        h["accepted_by"] = who
    if accepted:
        write(paths, af)
    return [h["message"] for h in accepted]
