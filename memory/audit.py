"""Checking the event log: the SHA-256 chain, each row's MAC, and an anchor kept elsewhere.

Three attacks on a log whose writer may be hostile, and what catches each:
- edit a row and leave the hashes: the row no longer matches its hash (the chain);
- edit a row and recompute every later hash: the first edited row's MAC no longer matches,
  and nobody without the key can make one that does;
- delete the newest rows (and recompute nothing, or append new ones): the anchor, the last
  event id and its MAC kept outside the database by the key holder, names an event the log
  no longer has, or one whose MAC changed.

Pure computation: the caller passes in the keys and the anchor it read (this package imports
nothing else of shiftctl's and never touches files other than the database).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shiftctl.memory.events import GENESIS, AuditKey, recompute

REWRITTEN = "rewritten"
TRUNCATED = "truncated"
KEY_MISSING = "key_missing"


@dataclass(frozen=True)
class Anchor:
    """The newest signed event when its writer last sealed the log."""

    event: int
    mac: str
    key_id: str


@dataclass(frozen=True)
class Problem:
    kind: str  # rewritten | truncated | key_missing
    event: int | None
    message: str


@dataclass
class Report:
    events: int = 0                 # rows read
    last_id: int = 0
    unsigned_before: int = 0        # rows before the first signed one (written before the key)
    first_signed: int | None = None
    verified: int = 0               # rows whose MAC a key given here checked
    unknown_keys: dict[str, list[int]] = field(default_factory=dict)  # key id -> [first, last]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def first(self, kind: str) -> Problem | None:
        return next((p for p in self.problems if p.kind == kind), None)


def _columns(conn: sqlite3.Connection) -> str:
    """The MAC columns, or NULLs where the table lacks them (never migrated, or dropped)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    mac = "mac" if "mac" in have else "NULL"
    key_id = "key_id" if "key_id" in have else "NULL"
    return f"id, ts, kind, issue, task, data, prev_hash, hash, {mac}, {key_id}"


def _walk(conn: sqlite3.Connection, keys: Mapping[str, AuditKey], report: Report) -> None:
    """Read every row in order; stop at the first broken link and record it."""
    prev = GENESIS
    expected: int | None = None
    for row in conn.execute(f"SELECT {_columns(conn)} FROM events ORDER BY id"):
        row_id = int(row[0])
        if expected is not None and row_id != expected:
            report.problems.append(Problem(REWRITTEN, expected, (
                f"events {expected}..{row_id - 1} are missing from the middle of the log: "
                "deleted")))
            return
        if row[6] != prev:
            report.problems.append(Problem(REWRITTEN, row_id, (
                f"event {row_id} does not link to the event before it: the log was reordered "
                "or an event was replaced")))
            return
        if recompute(row) != row[7]:
            report.problems.append(Problem(REWRITTEN, row_id, (
                f"event {row_id} no longer matches its hash: its content was edited")))
            return
        mac, key_id = row[8], row[9]
        if mac is None or key_id is None:
            if report.first_signed is not None:
                report.problems.append(Problem(REWRITTEN, row_id, (
                    f"event {row_id} carries no MAC although event {report.first_signed} "
                    "and later ones do: it was written or rewritten without the audit key")))
                return
            report.unsigned_before += 1
        else:
            if report.first_signed is None:
                report.first_signed = row_id
            key = keys.get(str(key_id))
            if key is None:
                span = report.unknown_keys.setdefault(str(key_id), [row_id, row_id])
                span[1] = row_id
            elif not key.verifies(str(row[7]), str(mac)):
                earlier = (f" (or one of the unsigned events 1..{report.unsigned_before} "
                           "before it)" if report.unsigned_before and not report.verified else "")
                report.problems.append(Problem(REWRITTEN, row_id, (
                    f"event {row_id}{earlier} was rewritten: its MAC does not match, so its "
                    "content changed and the hash chain was recomputed without the key")))
                return
            else:
                report.verified += 1
        prev = row[7]
        expected = row_id + 1
        report.events += 1
        report.last_id = row_id


def check_anchor(conn: sqlite3.Connection, anchor: Anchor,
                 keys: Mapping[str, AuditKey]) -> Problem | None:
    """Is the anchored event still there, unchanged? One row: cheap enough for every cycle."""
    row = conn.execute(f"SELECT {_columns(conn)} FROM events WHERE id = ?",
                       (anchor.event,)).fetchone()
    if row is None:
        last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        if last < anchor.event:
            return Problem(TRUNCATED, anchor.event, (
                f"anchor at event {anchor.event}, the log ends at event {last}: "
                f"events {last + 1}..{anchor.event} were deleted"))
        return Problem(REWRITTEN, anchor.event, (
            f"event {anchor.event}, where the anchor is, is missing: deleted"))
    key = keys.get(anchor.key_id)
    same = row[8] == anchor.mac and row[9] == anchor.key_id and recompute(row) == row[7]
    if not same or (key is not None and not key.verifies(str(row[7]), anchor.mac)):
        return Problem(REWRITTEN, anchor.event, (
            f"event {anchor.event} is not the event the anchor recorded: the log was rewritten "
            "up to it (or truncated and refilled)"))
    return None


def verify(conn: sqlite3.Connection, keys: Mapping[str, AuditKey] | None = None,
           anchor: Anchor | None = None) -> Report:
    """Everything that can be checked with the keys given: chain, MACs, anchor."""
    keys = keys or {}
    report = Report()
    _walk(conn, keys, report)
    for key_id, (first, last) in report.unknown_keys.items():
        report.problems.append(Problem(KEY_MISSING, first, (
            f"events {first}..{last} are signed with audit key {key_id}, which is not here: "
            "their MACs cannot be checked (their hash chain is intact)")))
    if anchor is not None:
        problem = check_anchor(conn, anchor, keys)
        if problem is not None:
            report.problems.append(problem)
    return report


def newest(conn: sqlite3.Connection) -> tuple[int, str | None, str | None] | None:
    """(id, mac, key id) of the newest event, or None for an empty log."""
    cols = _columns(conn)
    row = conn.execute(f"SELECT {cols} FROM events ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), row[8], row[9])


def describe(report: Report) -> dict[str, Any]:
    return {"events": report.events, "last_id": report.last_id,
            "unsigned_before": report.unsigned_before, "first_signed": report.first_signed,
            "verified": report.verified,
            "unknown_keys": {k: list(v) for k, v in report.unknown_keys.items()},
            "problems": [p.__dict__ for p in report.problems]}
