"""Episodic memory: every finished run, as a searchable record of what happened and why.

An episode is written in the same transaction as the run's end (and updated when review
rejects or merges that run's work), so memory never disagrees with the runs table. The FTS5
index ``episodes_fts`` is kept in step by triggers (migration ``0002_memory``).
"""
from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from shiftctl.memory import fts
from shiftctl.memory.db import transaction
from shiftctl.memory.store import _decode, _encode

MAX_BODY = 2000
MAX_LINE = 300
MAX_FAILURES = 12
_KEY_LINE = re.compile(r"\b(error|fail|failed|failure|must|missing|not|expected|assert)\b", re.I)
# title, body, summary, failures, files, facts: a match in the title or the files says most
_WEIGHTS = "3.0, 1.0, 1.0, 1.5, 2.0, 0.5"


@dataclass
class Episode:
    run_id: str
    issue: int
    outcome: str
    id: int = 0
    seq: int = 0
    task_id: int | None = None
    task_key: str = ""
    title: str = ""
    body: str = ""
    paths: list[str] = field(default_factory=list)
    attempt: int = 1
    profile: str | None = None
    merged: int = 0
    accepted: int = 0  # the issue's pull request was merged by a person
    summary: str = ""
    error: str = ""
    failures: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    learnings: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def task_ref(self) -> str:
        return f"{self.issue}-{self.task_key}"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# -- building one from a run's facts (pure) -----------------------------------------------
def key_line(output: str) -> str:
    """The line of a check's output that says most: the last one that reads like a failure,
    else the last non-empty one."""
    lines = [ln.strip() for ln in (output or "").splitlines() if ln.strip()
             and not ln.startswith("[... truncated")]
    if not lines:
        return ""
    telling = [ln for ln in lines if _KEY_LINE.search(ln)]
    return (telling or lines)[-1][:MAX_LINE]


def compact_checks(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": str(c.get("name")), "passed": bool(c.get("passed")),
             "line": key_line(c.get("output") or "") if not c.get("passed") else ""}
            for c in checks]


def failures_of(error: str, checks: Sequence[dict[str, Any]], findings: Sequence[str]) -> list[str]:
    """Why a run failed, most telling first: the error, each failing check, the findings."""
    out = []
    if error:
        out.append(error.strip().splitlines()[0][:MAX_LINE])
    for c in compact_checks(checks):
        if not c["passed"]:
            out.append(f"check {c['name']} failed: {c['line']}".rstrip(": ")[:MAX_LINE])
    for f in findings:
        first = (f.strip().splitlines() or [""])[0][:MAX_LINE]
        if first and first not in out:
            out.append(first)
    return out[:MAX_FAILURES]


# -- writing ------------------------------------------------------------------------------
_KEEP_WHEN_EMPTY = ("facts", "learnings", "checks", "summary")


def record(conn: sqlite3.Connection, ep: Episode, now: float | None = None) -> int:
    """Insert or update the episode of ``ep.run_id``; returns its id.

    An update (review's verdict on a run that was recorded at its end) keeps the log facts,
    learnings and checks already stored when the new record has none.
    """
    now = time.time() if now is None else now
    values = {f.name: getattr(ep, f.name) for f in fields(Episode)
              if f.name not in ("id", "seq", "created_at", "updated_at")}
    values["body"] = (values["body"] or "")[:MAX_BODY]
    cols = list(values)
    sets = []
    for c in cols:
        if c == "run_id":
            continue
        if c in _KEEP_WHEN_EMPTY:
            empty = "''" if c == "summary" else "'[]'"
            sets.append(f"{c} = CASE WHEN excluded.{c} = {empty} THEN episodes.{c} "
                        f"ELSE excluded.{c} END")
        elif c in ("merged", "accepted"):
            sets.append(f"{c} = MAX(episodes.{c}, excluded.{c})")
        else:
            sets.append(f"{c} = excluded.{c}")
    with transaction(conn):
        seq = latest_seq(conn) + 1
        conn.execute(
            f"INSERT INTO episodes ({', '.join(cols)}, seq, created_at, updated_at) "
            f"VALUES ({', '.join('?' for _ in cols)}, ?, ?, ?) "
            f"ON CONFLICT(run_id) DO UPDATE SET {', '.join(sets)}, seq = excluded.seq, "
            "updated_at = excluded.updated_at",
            [*(_encode(values[c]) for c in cols), seq, now, now])
        row = conn.execute("SELECT id FROM episodes WHERE run_id = ?", (ep.run_id,)).fetchone()
    return int(row[0])


def set_merged(conn: sqlite3.Connection, run_id: str, now: float | None = None) -> bool:
    """The run's work was merged: the episode's verdict, and a new item for distillation."""
    with transaction(conn):
        cur = conn.execute("UPDATE episodes SET merged = 1, seq = ?, updated_at = ? "
                           "WHERE run_id = ?",
                           (latest_seq(conn) + 1, time.time() if now is None else now, run_id))
    return bool(cur.rowcount)


def accept_issue(conn: sqlite3.Connection, issue: int, now: float | None = None) -> int:
    """A person merged the issue's pull request: its episodes are accepted work, and news
    for distillation. Returns how many changed."""
    with transaction(conn):
        cur = conn.execute("UPDATE episodes SET accepted = 1, seq = ?, updated_at = ? "
                           "WHERE issue = ? AND accepted = 0",
                           (latest_seq(conn) + 1, time.time() if now is None else now, issue))
    return cur.rowcount


# -- reading ------------------------------------------------------------------------------
def latest_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM episodes").fetchone()[0])


def get(conn: sqlite3.Connection, episode_id: int) -> Episode | None:
    row = conn.execute("SELECT * FROM episodes WHERE id = ?", (episode_id,)).fetchone()
    return _decode(Episode, row) if row else None


def by_run(conn: sqlite3.Connection, run_id: str) -> Episode | None:
    row = conn.execute("SELECT * FROM episodes WHERE run_id = ?", (run_id,)).fetchone()
    return _decode(Episode, row) if row else None


def of_task(conn: sqlite3.Connection, task_id: int) -> list[Episode]:
    rows = conn.execute("SELECT * FROM episodes WHERE task_id = ? ORDER BY attempt, id",
                        (task_id,))
    return [_decode(Episode, r) for r in rows]


def recent(conn: sqlite3.Connection, limit: int, *, accepted: bool = False) -> list[Episode]:
    """The newest ``limit`` episodes (``accepted``: of accepted work only), oldest first."""
    where = "WHERE accepted = 1" if accepted else ""
    rows = conn.execute(f"SELECT * FROM (SELECT * FROM episodes {where} ORDER BY id DESC "
                        "LIMIT ?) ORDER BY id", (limit,))
    return [_decode(Episode, r) for r in rows]


def _matching(conn: sqlite3.Connection, query: str, limit: int,
              exclude_task: int | None, issue: int | None = None) -> list[Episode]:
    if not query:
        return []
    trusted = "AND (e.accepted = 1 OR e.issue = ?)" if issue is not None else ""
    rows = conn.execute(
        f"SELECT e.* FROM episodes_fts JOIN episodes e ON e.id = episodes_fts.rowid "
        f"WHERE episodes_fts MATCH ? AND (? IS NULL OR e.task_id IS NOT ?) {trusted} "
        f"ORDER BY bm25(episodes_fts, {_WEIGHTS}), e.id DESC LIMIT ?",
        (query, exclude_task, exclude_task, *([issue] if issue is not None else []), limit))
    return [_decode(Episode, r) for r in rows]


def similar(conn: sqlite3.Connection, text: str, *, limit: int,
            exclude_task: int | None = None, issue: int | None = None) -> list[Episode]:
    """Episodes of other tasks that share words with ``text``, best first, one per task.
    With ``issue``: only that issue's own and accepted work (an agent's summary of an issue
    nobody accepted does not reach the prompts of other issues)."""
    out: list[Episode] = []
    seen: set[tuple[int, str]] = set()
    for ep in _matching(conn, fts.match_any(text), limit * 4, exclude_task, issue):
        key = (ep.issue, ep.task_key)
        if key not in seen:
            seen.add(key)
            out.append(ep)
        if len(out) >= limit:
            break
    return out


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[Episode]:
    """A person's search: episodes holding every word, else any word, best first."""
    return (_matching(conn, fts.match_all(text), limit, None)
            or _matching(conn, fts.match_any(text), limit, None))
