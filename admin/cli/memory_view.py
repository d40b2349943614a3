"""``shiftctl memory list|search|show``: reading memory, always through a read-only store."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.memory import episodes, lessons
from shiftctl.memory.episodes import Episode
from shiftctl.memory.lessons import Lesson
from shiftctl.memory.store import Store


@contextlib.contextmanager
def reading(paths: Paths) -> Iterator[Store | None]:
    """The state db, read-only; None before the first cycle created it."""
    if not paths.state_db.exists():
        yield None
        return
    store = open_reader(paths)
    try:
        yield store
    finally:
        store.close()


def parse_id(ref: str) -> tuple[str, int]:
    """``7`` or ``L7`` is lesson 7; ``e12`` is episode 12."""
    ref = ref.strip()
    kind = "episode" if ref[:1] in ("e", "E") else "lesson"
    num = ref[1:] if ref[:1] in ("e", "E", "l", "L") else ref
    if not num.isdigit():
        raise ValueError(f"{ref!r} is not a memory id "
                         "(a lesson is N, an episode eN, e.g. 3 or e12)")
    return kind, int(num)


def lesson_line(lesson: Lesson) -> str:
    state = "" if lesson.active else "  [retired]"
    return (f"{lesson.id:>4}  {lesson.kind:<8} shown {lesson.shown:>3}  helped {lesson.helped:>3}  "
            f"effect {lesson.effect:.2f}  {lesson.text[:110]}{state}")


def episode_line(ep: Episode) -> str:
    outcome = "merged" if ep.merged else ep.outcome
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(ep.ended_at or ep.created_at))
    return f"e{ep.id:<5} {when}  {ep.task_ref:<10} a{ep.attempt}  {outcome:<10} {ep.title[:70]}"


def lesson_detail(lesson: Lesson) -> str:
    lines = [f"lesson {lesson.id} ({lesson.kind}, {'active' if lesson.active else 'retired'})",
             "", lesson.text, "",
             f"shown {lesson.shown} times, helped {lesson.helped} (effect {lesson.effect:.2f}); "
             f"evidence {lesson.evidence}; source: {lesson.source or '-'}"]
    if not lesson.active:
        lines.append(f"retired: {lesson.retired_reason or '-'}")
    return "\n".join(lines)


def episode_detail(ep: Episode) -> str:
    lines = [f"episode e{ep.id}: run {ep.run_id}, task {ep.task_ref} attempt {ep.attempt}, "
             f"{'merged' if ep.merged else ep.outcome}, ${ep.cost_usd:.2f}",
             f"title: {ep.title}"]
    if ep.summary:
        lines.append(f"summary: {ep.summary}")
    for name, items in (("failures", ep.failures), ("files", ep.files), ("log", ep.facts),
                        ("learnings", ep.learnings)):
        if items:
            lines.append(f"{name}:")
            lines += [f"  - {item}" for item in items]
    if ep.checks:
        lines.append("checks: " + ", ".join(
            f"{c['name']} {'passed' if c['passed'] else 'failed'}" for c in ep.checks))
    return "\n".join(lines)


def find(store: Store, ref: str) -> Lesson | Episode | None:
    kind, num = parse_id(ref)
    return episodes.get(store.conn, num) if kind == "episode" else lessons.get(store.conn, num)


def as_json(item: Lesson | Episode) -> dict[str, Any]:
    data = item.to_dict()
    if isinstance(item, Episode):
        data["ref"] = f"e{item.id}"
    return data
