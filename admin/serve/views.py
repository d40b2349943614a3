"""What each page shows, as plain dicts: read-only queries of the state db (and, for the local
tracker, its comments). The overview is ``shiftctl status``'s own ``collect_status``."""
from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from shiftctl.admin.cli.status import collect_status
from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker import markers, quota
from shiftctl.memory import episodes, events, lessons
from shiftctl.memory.db import StateError, connect
from shiftctl.memory.store import Run, Store, Task

LOG_TAIL_BYTES = 64 * 1024
MAX_EVENTS = 1000


@contextlib.contextmanager
def reading(paths: Paths) -> Iterator[Store | None]:
    """The state db, read-only; None before a first cycle created and migrated it."""
    try:
        store = Store.open(paths.state_db, readonly=True)
    except (StateError, sqlite3.Error):
        yield None
        return
    try:
        yield store
    finally:
        store.close()


def web_url(config: Config, kind: str, number: int) -> str | None:
    """The tracker's page of an issue or pull request (``kind``: issues | pull), if it has
    pages: GitHub's, or GitHub Enterprise's (``https://HOST/api/v3`` -> ``https://HOST``)."""
    if config.tracker.kind != "github":
        return None
    api = config.tracker.github.api_url
    site = "https://github.com" if api == "https://api.github.com" else api.removesuffix(
        "/api/v3")
    return f"{site}/{config.tracker.github.repo}/{kind}/{number}"


def overview(config: Config, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    status = collect_status(config, now)
    status["quota_text"] = quota.describe((status.get("tracker") or {}).get("rate"), now)
    return status


def levels(tasks: list[Task]) -> list[list[Task]]:
    """The task graph in columns: a task sits one column right of its latest dependency
    (dependencies outside the list are ignored; a cycle, which validation never lets in,
    would be cut where it closes). Iterative: a chain of any length fits."""
    by_key = {t.key: t for t in tasks}
    depth: dict[str, int] = {}
    for root in tasks:
        stack, on_path = [root.key], {root.key}
        while stack:
            key = stack[-1]
            todo = [d for d in by_key[key].depends_on
                    if d in by_key and d not in depth and d not in on_path]
            if todo:
                stack.append(todo[0])
                on_path.add(todo[0])
                continue
            deps = [depth[d] for d in by_key[key].depends_on if d in depth]
            depth[key] = 1 + max(deps, default=-1)
            on_path.discard(stack.pop())
    columns: list[list[Task]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for t in tasks:
        columns[depth[t.key]].append(t)
    return columns


def _task(t: Task) -> dict[str, Any]:
    return {"ref": t.ref, "key": t.key, "title": t.title, "state": t.state,
            "reason": t.reason, "attempts": t.attempts, "cost_usd": t.cost_usd,
            "depends_on": t.depends_on, "paths": t.paths, "profile": t.profile,
            "success_criteria": t.success_criteria, "body": t.body, "parent": t.parent}


def _run(r: Run, task: Task | None) -> dict[str, Any]:
    data = asdict(r)
    data["task"] = task.ref if task else None
    data["duration_s"] = (r.ended_at - r.started_at) if r.ended_at else None
    return data


def _comments(config: Config, paths: Paths, store: Store, number: int) -> list[dict[str, Any]]:
    """The issue's conversation. The local tracker's comments are read from its file
    (read-only); for GitHub, what the state db knows, so a page view costs no quota:
    people's commands and answers, and shiftctl's own comments."""
    if config.tracker.kind == "local":
        try:
            conn = connect(paths.tracker_db, readonly=True, wal=False)
        except StateError:
            return []
        try:
            rows = conn.execute("SELECT author, body, created_at FROM comments WHERE issue = ? "
                                "ORDER BY id", (number,)).fetchall()
        except sqlite3.Error:
            return []
        finally:
            conn.close()
        return [{"author": r[0], "body": markers.strip(r[1]), "when": r[2]} for r in rows]
    said = [{"author": c.author, "body": c.text or f"/{c.verb} {c.arg}".strip(),
             "when": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(c.created_at)),
             "ts": c.created_at} for c in store.commands(issue=number)]
    ours = store.conn.execute("SELECT body, created_at FROM outbox WHERE issue = ? "
                              "AND kind = 'comment'", (number,)).fetchall()
    said += [{"author": "shiftctl", "body": markers.strip(r[0]),
              "when": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(r[1])), "ts": r[1]}
             for r in ours]
    return sorted(said, key=lambda c: c["ts"])


def issue_page(config: Config, number: int) -> dict[str, Any] | None:
    paths = Paths(config.root)
    with reading(paths) as store:
        if store is None:
            return None
        issue = store.issue(number)
        if issue is None:
            return None
        tasks = store.tasks(issue=number)
        by_id = {t.id: t for t in tasks}
        runs = [_run(r, by_id.get(r.task_id) if r.task_id else None)
                for r in store.runs(issue=number)]
        return {
            "issue": asdict(issue), "cost_usd": store.issue_cost(number),
            "tokens_in": sum(r["tokens_in"] for r in runs),
            "tokens_out": sum(r["tokens_out"] for r in runs),
            "tasks": [_task(t) for t in tasks],
            "columns": [[_task(t) for t in col] for col in levels(tasks)],
            "runs": runs[::-1],
            "comments": _comments(config, paths, store, number),
            "issue_url": web_url(config, "issues", number),
            "pr_url": web_url(config, "pull", issue.pr) if issue.pr else None,
        }


def log_tail(path: Any, limit: int = LOG_TAIL_BYTES) -> tuple[str, int]:
    """The end of a log file as text, and its size (where following it starts)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - limit))
            data = fh.read(limit)
    except OSError:
        return "", 0
    text = data.decode("utf-8", "replace")
    if size > limit:
        text = f"[... {size - limit} earlier bytes not shown ...]\n" + text
    return text, size


def run_page(config: Config, run_id: str) -> dict[str, Any] | None:
    paths = Paths(config.root)
    with reading(paths) as store:
        if store is None:
            return None
        run = store.run(run_id)  # the id from the URL is only ever a key, never a path
        if run is None:
            return None
        task = store.task(run.task_id) if run.task_id else None
    log, size = log_tail(paths.run_dir(run.id) / "agent.log")
    return {"run": _run(run, task), "task_title": task.title if task else None,
            "log": log, "log_size": size, "open": run.ended_at is None}


def event_page(config: Config, *, issue: int | None = None, task: str | None = None,
               kind: str | None = None, before: int | None = None,
               limit: int = 200) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_EVENTS))
    with reading(Paths(config.root)) as store:
        found = [] if store is None else events.rows(
            store.conn, issue=issue, task=task or None, kind=kind or None, before_id=before,
            limit=limit)
    return {"events": found[::-1], "filters": {"issue": issue, "task": task or "",
                                               "kind": kind or "", "limit": limit},
            "older": found[0]["id"] if len(found) == limit else None}


def memory_page(config: Config) -> dict[str, Any]:
    with reading(Paths(config.root)) as store:
        if store is None:
            return {"lessons": [], "episodes": 0, "recent": []}
        found = lessons.listing(store.conn, include_retired=True)
        count = store.conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
        recent = episodes.recent(store.conn, 10)[::-1]
    return {"lessons": [x.to_dict() for x in found], "episodes": count,
            "recent": [e.to_dict() | {"ref": f"e{e.id}", "task_ref": e.task_ref} for e in recent]}
