"""The append-only, hash-chained event log.

Each row stores the SHA-256 of the previous row and of itself, so editing, deleting or
reordering any row breaks the chain from that point on. Anyone who can write the file can
recompute those hashes, though; so a writer that holds the audit key (``sign_with``) also
stores an HMAC of each row's hash. Without the key nobody can make a MAC that verifies, and
since each hash covers every row before it, one valid MAC vouches for the whole chain up to
its row. ``shiftctl.memory.audit`` checks both.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
KEY_BYTES = 32


@dataclass(frozen=True)
class AuditKey:
    """A secret that signs events. Its ``id`` (a hash of the secret) is stored on each row,
    so a log that outlived a key (a new machine, a moved repository) says which key it needs."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("an audit key needs at least 16 bytes")

    @property
    def id(self) -> str:
        return hashlib.sha256(b"shiftctl audit key id\0" + self.secret).hexdigest()[:16]

    def mac(self, row_hash: str) -> str:
        return hmac.new(self.secret, row_hash.encode(), hashlib.sha256).hexdigest()

    def verifies(self, row_hash: str, mac: str | None) -> bool:
        return mac is not None and hmac.compare_digest(self.mac(row_hash), mac)

    @classmethod
    def generate(cls) -> AuditKey:
        import secrets  # once, when the key is made
        return cls(secrets.token_bytes(KEY_BYTES))


def sign_with(conn: sqlite3.Connection, key: AuditKey | None) -> None:
    """Every event appended through ``conn`` from now on carries ``key``'s MAC."""
    if not hasattr(type(conn), "audit_key"):
        raise TypeError("events are signed on a state connection (shiftctl.memory.db.connect)")
    conn.audit_key = key  # type: ignore[attr-defined]


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
    key: AuditKey | None = getattr(conn, "audit_key", None)
    if key is None:
        conn.execute("INSERT INTO events (id, ts, kind, issue, task, data, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (row_id, ts, kind, issue, task, blob, prev_hash, digest))
    else:
        conn.execute("INSERT INTO events (id, ts, kind, issue, task, data, prev_hash, hash, "
                     "mac, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (row_id, ts, kind, issue, task, blob, prev_hash, digest,
                      key.mac(digest), key.id))
    return row_id


def recompute(row: Any) -> str:
    """The hash a row ``(id, ts, kind, issue, task, data, prev_hash, ...)`` should have."""
    return _digest(row[6], row[0], row[1], row[2], row[3], row[4], row[5])


def last_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
    return int(row[0])


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
