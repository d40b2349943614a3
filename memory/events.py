"""The append-only, hash-chained event log.

Each row stores the SHA-256 of the previous row and of itself, so editing, deleting or
reordering any row breaks the chain from that point on and ``verify`` names the first
broken link.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def _digest(prev_hash: str, row_id: int, ts: float, kind: str, issue: int | None,
            task: str | None, data: str) -> str:
    payload = json.dumps([row_id, repr(ts), kind, issue, task, data], separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def append(conn: sqlite3.Connection, kind: str, *, issue: int | None = None,
           task: str | None = None, now: float | None = None, **data: Any) -> int:
    """Append one event; call inside the write transaction of the change it describes."""
    last = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    row_id = (last[0] + 1) if last else 1
    prev_hash = last[1] if last else GENESIS
    ts = time.time() if now is None else now
    blob = json.dumps(data, sort_keys=True, default=str)
    digest = _digest(prev_hash, row_id, ts, kind, issue, task, blob)
    conn.execute("INSERT INTO events (id, ts, kind, issue, task, data, prev_hash, hash) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (row_id, ts, kind, issue, task, blob, prev_hash, digest))
    return row_id


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_at: int | None = None
    problem: str = ""


def verify(conn: sqlite3.Connection) -> ChainReport:
    prev_hash = GENESIS
    expected_id = None
    checked = 0
    for row in conn.execute("SELECT id, ts, kind, issue, task, data, prev_hash, hash "
                            "FROM events ORDER BY id"):
        row_id = row[0]
        if expected_id is not None and row_id != expected_id:
            return ChainReport(False, checked, expected_id, f"event {expected_id} is missing")
        if row[6] != prev_hash:
            return ChainReport(False, checked, row_id,
                               f"event {row_id}: prev_hash does not match event {row_id - 1}")
        digest = _digest(row[6], row_id, row[1], row[2], row[3], row[4], row[5])
        if digest != row[7]:
            return ChainReport(False, checked, row_id,
                               f"event {row_id}: content does not match its hash")
        prev_hash = row[7]
        expected_id = row_id + 1
        checked += 1
    return ChainReport(True, checked)


def rows(conn: sqlite3.Connection, *, issue: int | None = None, after_id: int = 0,
         limit: int | None = None, task: str | None = None, kind: str | None = None,
         before_id: int | None = None) -> list[dict[str, Any]]:
    """Events in order; ``kind`` matches a prefix (``run.`` is every run event), ``limit``
    keeps the newest, ``before_id`` pages back from an event."""
    sql = "SELECT id, ts, kind, issue, task, data FROM events WHERE id > ?"
    params: list[Any] = [after_id]
    if issue is not None:
        sql += " AND issue = ?"
        params.append(issue)
    if task is not None:
        sql += " AND task = ?"
        params.append(task)
    if kind:
        sql += " AND substr(kind, 1, ?) = ?"
        params += [len(kind), kind]
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id"
        params.append(limit)
    else:
        sql += " ORDER BY id"
    out = []
    for r in conn.execute(sql, params):
        out.append({"id": r[0], "ts": r[1], "kind": r[2], "issue": r[3], "task": r[4],
                    "data": json.loads(r[5])})
    return out
