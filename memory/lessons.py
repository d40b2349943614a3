"""Procedural memory: short lessons, ranked by relevance and by whether they helped.

Each lesson counts how often it was shown in a worker's prompt (``shown``) and how often that
run's work was then merged (``helped``). Its *effect* is the smoothed success rate
``(helped + 1) / (shown + 2)``: a new lesson starts at 0.5, one that keeps being shown to runs
that fail sinks towards 0, one that keeps helping rises towards 1. Retired lessons are kept
(with the reason) but never shown.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from shiftctl.memory import events, fts
from shiftctl.memory.db import transaction
from shiftctl.memory.store import _decode

KINDS = ("check", "fix", "learning", "human")
GLOBAL_KINDS = ("check", "fix", "human")  # about every task; a learning must match the task
MAX_TEXT = 1000
MAX_CANDIDATES = 500


@dataclass
class Lesson:
    id: int
    key: str
    kind: str
    text: str
    terms: str = ""
    source: str = ""
    evidence: int = 1
    shown: int = 0
    helped: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    retired_at: float | None = None
    retired_reason: str | None = None

    @property
    def effect(self) -> float:
        return (self.helped + 1) / (self.shown + 2)

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["effect"] = round(self.effect, 3)
        out["state"] = "active" if self.active else "retired"
        return out


def normalize(text: str) -> str:
    return " ".join((text or "").split()).strip()


def key_for(kind: str, text: str) -> str:
    """The same advice twice is one lesson: the key hashes the normalised, lower-cased text."""
    digest = hashlib.sha256(normalize(text).lower().rstrip(".!").encode()).hexdigest()[:16]
    return f"{kind}:{digest}"


# -- writing ------------------------------------------------------------------------------
def upsert(conn: sqlite3.Connection, *, key: str, kind: str, text: str, terms: str = "",
           source: str = "", evidence: int | None = None,
           now: float | None = None) -> tuple[int, bool]:
    """Create a lesson or refresh it; ``evidence=None`` adds one to its count.

    Returns (id, created). A retired lesson stays retired: a person's ``retire`` sticks even
    when distillation finds the same lesson again.
    """
    assert kind in KINDS, kind
    now = time.time() if now is None else now
    text = normalize(text)[:MAX_TEXT]
    with transaction(conn):
        row = conn.execute("SELECT id, text, terms, evidence FROM lessons WHERE key = ?",
                           (key,)).fetchone()
        if row is None:
            cur = conn.execute(
                "INSERT INTO lessons (key, kind, text, terms, source, evidence, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, kind, text, terms, source, evidence or 1, now, now))
            lesson_id = int(cur.lastrowid or 0)
            events.append(conn, "lesson.new", lesson=lesson_id, lesson_kind=kind, text=text,
                          source=source)
            return lesson_id, True
        new_evidence = row["evidence"] + 1 if evidence is None else evidence
        if (row["text"], row["terms"], row["evidence"]) != (text, terms, new_evidence):
            conn.execute("UPDATE lessons SET text = ?, terms = ?, evidence = ?, updated_at = ? "
                         "WHERE id = ?", (text, terms, new_evidence, now, row["id"]))
        return int(row["id"]), False


def add(conn: sqlite3.Connection, text: str, *, source: str,
        kind: str = "human") -> tuple[int, str]:
    """A lesson a person (or an agent) states; re-adding a retired one brings it back."""
    key = key_for(kind, text)
    with transaction(conn):
        row = conn.execute("SELECT id FROM lessons WHERE key = ?", (key,)).fetchone()
        if row is None:
            lesson_id, _ = upsert(conn, key=key, kind=kind, text=text,
                                  terms=" ".join(fts.terms(text)), source=source)
            return lesson_id, "added"
        lesson = get(conn, int(row["id"]))
        assert lesson is not None
        if not lesson.active and kind == "human":
            conn.execute("UPDATE lessons SET retired_at = NULL, retired_reason = NULL, "
                         "updated_at = ? WHERE id = ?", (time.time(), lesson.id))
            events.append(conn, "lesson.revive", lesson=lesson.id, source=source)
            return lesson.id, "revived"
    return lesson.id, "exists"


def retire(conn: sqlite3.Connection, lesson_id: int, reason: str) -> str:
    with transaction(conn):
        lesson = get(conn, lesson_id)
        if lesson is None:
            return f"no lesson {lesson_id}"
        if not lesson.active:
            return f"lesson {lesson_id} was already retired"
        conn.execute("UPDATE lessons SET retired_at = ?, retired_reason = ?, updated_at = ? "
                     "WHERE id = ?", (time.time(), reason[:500], time.time(), lesson_id))
        events.append(conn, "lesson.retire", lesson=lesson_id, reason=reason[:500])
    return f"lesson {lesson_id} retired"


def mark_shown(conn: sqlite3.Connection, run_id: str, lesson_ids: Iterable[int]) -> None:
    """Call in the transaction that records the run's start."""
    with transaction(conn):
        for lesson_id in lesson_ids:
            cur = conn.execute("INSERT OR IGNORE INTO lesson_shows (run_id, lesson_id) "
                               "VALUES (?, ?)", (run_id, lesson_id))
            if cur.rowcount:
                conn.execute("UPDATE lessons SET shown = shown + 1 WHERE id = ?", (lesson_id,))


def credit(conn: sqlite3.Connection, run_id: str) -> int:
    """The run's work was merged: every lesson it was shown helped once more."""
    with transaction(conn):
        cur = conn.execute("UPDATE lessons SET helped = helped + 1 WHERE id IN "
                           "(SELECT lesson_id FROM lesson_shows WHERE run_id = ?)", (run_id,))
    return cur.rowcount


def retire_unhelpful(conn: sqlite3.Connection, after: int) -> list[int]:
    """Distilled lessons shown ``after`` times without helping once are retired (a person's
    own lessons only sink; retiring those is theirs to do)."""
    if after <= 0:
        return []
    rows = conn.execute("SELECT id, shown FROM lessons WHERE retired_at IS NULL AND helped = 0 "
                        "AND kind != 'human' AND shown >= ? ORDER BY id", (after,)).fetchall()
    for row in rows:
        retire(conn, row["id"], f"shown {row['shown']} times and never helped")
    return [r["id"] for r in rows]


# -- reading ------------------------------------------------------------------------------
def get(conn: sqlite3.Connection, lesson_id: int) -> Lesson | None:
    row = conn.execute("SELECT * FROM lessons WHERE id = ?", (lesson_id,)).fetchone()
    return _decode(Lesson, row) if row else None


def listing(conn: sqlite3.Connection, *, include_retired: bool = False) -> list[Lesson]:
    """Every lesson, the most effective first."""
    where = "" if include_retired else "WHERE retired_at IS NULL"
    rows = conn.execute(f"SELECT * FROM lessons {where} ORDER BY retired_at IS NOT NULL, "
                        "(helped + 1.0) / (shown + 2) DESC, evidence DESC, id")
    return [_decode(Lesson, r) for r in rows]


def _matched(conn: sqlite3.Connection, query: str, limit: int,
             include_retired: bool = False) -> list[Lesson]:
    if not query:
        return []
    retired = "" if include_retired else "AND l.retired_at IS NULL"
    rows = conn.execute(
        "SELECT l.* FROM lessons_fts JOIN lessons l ON l.id = lessons_fts.rowid "
        f"WHERE lessons_fts MATCH ? {retired} ORDER BY bm25(lessons_fts), l.id LIMIT ?",
        (query, limit))
    return [_decode(Lesson, r) for r in rows]


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[Lesson]:
    """A person's search (retired lessons included): every word, else any word."""
    return (_matched(conn, fts.match_all(text), limit, True)
            or _matched(conn, fts.match_any(text), limit, True))


def score(lesson: Lesson, position: int | None) -> float | None:
    """How strongly to show ``lesson`` for a task; ``position`` is its rank among the lessons
    that match the task's words (None: no match). None means: not for this task."""
    if position is None:
        return lesson.effect if lesson.kind in GLOBAL_KINDS else None
    return lesson.effect * (1.0 + 1.0 / (1 + position))


def rank(conn: sqlite3.Connection, text: str, limit: int) -> list[Lesson]:
    """The lessons for a task described by ``text``, most relevant and effective first."""
    matched = {lesson.id: i for i, lesson in
               enumerate(_matched(conn, fts.match_any(text), MAX_CANDIDATES))}
    rows = conn.execute("SELECT * FROM lessons WHERE retired_at IS NULL "
                        "ORDER BY (helped + 1.0) / (shown + 2) DESC, id LIMIT ?",
                        (MAX_CANDIDATES,))
    scored = []
    for lesson in (_decode(Lesson, r) for r in rows):
        s = score(lesson, matched.get(lesson.id))
        if s is not None:
            scored.append((-s, -lesson.evidence, lesson.id, lesson))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored[:limit]]
