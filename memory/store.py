"""Typed access to the state database: issues, tasks, runs, cycles, commands.

Every state change writes its row and its event in one transaction, so the log and the
tables can never disagree. Only the holder of the admin lock writes (docs/design.md §10: the
single-writer rule); everybody else opens the store read-only.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shiftctl.memory import events
from shiftctl.memory.db import StateCorrupt, StateMissing, connect, is_corruption, transaction
from shiftctl.memory.migrations import check_schema, migrate, pending
from shiftctl.memory.states import ISSUE_STATES, TASK_STATES, IssueState, TaskState

DISTILLED_KEY = "shiftctl.memory:distilled_seq"  # kv: the episode seq the last distillation reached

TASK_TERMINAL = ("done", "needs_human", "cancelled")
TASK_FAILED = ("needs_human", "cancelled")
MAX_WRITE_TRIES = 20
WAKES_PREFIX = "wakes:"  # kv: how many cycles each wake reason started

_JSON_FIELDS = {"labels", "success_criteria", "depends_on", "paths", "commits", "files_changed",
                "checks", "findings", "actions", "failures", "files", "facts", "learnings"}


def _decode(cls: type, row: sqlite3.Row) -> Any:
    names = {f.name for f in fields(cls)}
    kwargs = {}
    for key, value in dict(row).items():
        if key not in names:
            continue
        if key in _JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        kwargs[key] = value
    return cls(**kwargs)


def _encode(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


@dataclass
class Issue:
    number: int
    title: str
    state: str
    body: str = ""
    author: str = ""
    labels: list[str] = field(default_factory=list)
    tracker_state: str = "open"
    reason: str | None = None
    priority: int = 0
    plan_version: int = 0
    approved: int = 0
    branch: str | None = None
    pr: int | None = None
    pr_state: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    integration_head: str | None = None  # the integration branch as shiftctl last left it
    integration_base: str | None = None  # the base commit it started from
    integration_hold: str | None = None  # why the branch is not trusted (found elsewhere)
    verify_failures: int = 0             # failed checks of the integrated branch, in a row


@dataclass
class Merge:
    """One task merged into an issue's integration branch: ``head`` (the commit review saw)
    onto ``before`` (the integration head then), giving ``merge``."""
    id: int
    issue: int
    task_key: str
    head: str
    before: str
    merge: str
    created_at: float
    task_id: int | None = None
    run_id: str | None = None


LATER_TASK_COLUMNS = ("attempt_floor", "rounds")  # 0009_intent_rounds


@dataclass
class Task:
    id: int
    issue: int
    key: str
    title: str
    state: str
    body: str = ""
    plan_version: int = 1
    parent: str | None = None
    depth: int = 0
    position: int = 0
    success_criteria: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    profile: str | None = None
    fingerprint: str = ""
    reason: str | None = None
    attempts: int = 0
    not_before: float | None = None
    cost_usd: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0
    attempt_floor: int = 0  # attempts spent before a person's latest /retry granted a round
    rounds: int = 0         # rounds granted by a person's /retry

    @property
    def ref(self) -> str:
        return f"{self.issue}-{self.key}"

    @property
    def round_attempts(self) -> int:
        """Attempts spent in the current round (since the latest grant)."""
        return max(0, self.attempts - self.attempt_floor)


@dataclass
class Run:
    id: str
    issue: int
    started_at: float
    task_id: int | None = None
    kind: str = "work"
    attempt: int = 1
    profile: str | None = None
    pid: int | None = None
    pgid: int | None = None
    pid_start: str | None = None
    run_dir: str | None = None
    worktree: str | None = None
    branch: str | None = None
    base_sha: str | None = None
    heartbeat_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    exit_code: int | None = None
    counted: int = 1
    commits: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    turns: int | None = None  # NULL-able in the dataclass only, so older schemas insert too
    summary: str | None = None
    error: str | None = None
    question: str | None = None
    findings: list[str] = field(default_factory=list)
    prompt_hash: str | None = None
    context_hash: str | None = None
    subject: str | None = None   # judge: the work run it reviews; plan: the plan version;
    #                              verify: the integration head whose checks it ran
    verdict: str | None = None   # judge, verify: pass | fail
    launcher: str | None = None  # the launcher that started it (None: local processes)
    handle: str | None = None    # that launcher's opaque handle (a job id), never read elsewhere
    host: str | None = None      # the machine that ran it, as its worker host named itself


@dataclass(frozen=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    turns: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out,
                     self.turns + other.turns, self.cost_usd + other.cost_usd)


@dataclass
class Cycle:
    number: int
    started_at: float
    ended_at: float | None = None
    rung: str | None = None
    actions: list[Any] = field(default_factory=list)
    sleep_s: float | None = None
    error: str | None = None


@dataclass
class Command:
    id: int
    source: str
    verb: str
    created_at: float
    issue: int | None = None
    author: str = ""
    arg: str = ""
    text: str = ""
    applied_at: float | None = None
    result: str | None = None


def _checked(path: Path, conn: sqlite3.Connection,
             then: Callable[[sqlite3.Connection], object]) -> sqlite3.Connection:
    """Refuse a foreign schema, then ``then`` (migrate, or check migrations); on any error
    close the connection, with damage reported as ``StateCorrupt`` wherever it was met."""
    try:
        check_schema(conn)
        then(conn)
    except Exception as exc:
        conn.close()
        if is_corruption(exc) and not isinstance(exc, StateCorrupt):
            raise StateCorrupt(f"{path}: {exc}") from exc
        raise
    return conn


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False,
             on_migration_step: Callable[[str, int], None] | None = None) -> Store:
        """Open, refusing a file that is not usable state; a writer migrates it first.

        A writer first looks read-only: a damaged, foreign or newer file is refused before
        even its journal mode is changed. A damaged file raises ``StateCorrupt`` whichever
        query finds the damage, so callers can tell "restore a backup" from "busy" or "disk
        full".
        """
        if not readonly and path.exists():
            _checked(path, connect(path, readonly=True), pending).close()
        conn = connect(path, readonly=readonly)
        if readonly:
            def unmigrated(c: sqlite3.Connection) -> None:
                if pending(c):
                    raise StateMissing(f"{path}: not migrated yet (run a cycle first)")
            return cls(_checked(path, conn, unmigrated), path)
        return cls(_checked(path, conn, lambda c: migrate(c, on_step=on_migration_step)), path)

    def close(self) -> None:
        self.conn.close()

    def tx(self) -> Any:
        return transaction(self.conn)

    def event(self, kind: str, *, issue: int | None = None, task: str | None = None,
              **data: Any) -> int:
        with self.tx():
            return events.append(self.conn, kind, issue=issue, task=task, **data)

    def _update(self, table: str, key_col: str, key: Any, changes: dict[str, Any]) -> None:
        if not changes:
            return
        cols = ", ".join(f"{c} = ?" for c in changes)
        self.conn.execute(f"UPDATE {table} SET {cols} WHERE {key_col} = ?",
                          [*(_encode(v) for v in changes.values()), key])

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                [_encode(v) for v in values.values()])
        return int(cur.lastrowid or 0)

    # -- key/value -------------------------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def distillation_due(self) -> bool:
        """Episodes were added or changed since the last distillation: one query, asked by
        every cycle, so that an idle one does not load the distiller."""
        row = self.conn.execute(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM episodes) > "
            "COALESCE((SELECT CAST(value AS INTEGER) FROM kv WHERE key = ?), 0)",
            (DISTILLED_KEY,)).fetchone()
        return bool(row[0])

    def put(self, key: str, value: str) -> None:
        with self.tx():
            self.conn.execute("INSERT INTO kv (key, value) VALUES (?, ?) "
                              "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def wakes(self) -> dict[str, int]:
        """Cycles started per wake reason (``end_cycle``'s ``wakes``), since the db began."""
        rows = self.conn.execute("SELECT key, value FROM kv WHERE key LIKE ?",
                                 (WAKES_PREFIX + "%",))
        return {key[len(WAKES_PREFIX):]: int(value) for key, value in rows}

    def cooldowns(self, now: float) -> dict[str, float]:
        """Agent profiles resting after a rate limit, and until when (kv ``cooldown:NAME``)."""
        rows = self.conn.execute("SELECT key, value FROM kv WHERE key LIKE 'cooldown:%'")
        return {key.split(":", 1)[1]: float(value) for key, value in rows
                if float(value) > now}

    def refusals(self) -> dict[str, str]:
        """Agent profiles whose provider refused their credentials, and what it said (kv
        ``refused:NAME``): no run starts on them until a person's ``/retry``."""
        rows = self.conn.execute("SELECT key, value FROM kv WHERE key LIKE 'refused:%'")
        return {key.split(":", 1)[1]: value for key, value in rows}

    def refuse_profile(self, profile: str, why: str) -> None:
        self.put(f"refused:{profile}", why)

    def clear_refusals(self) -> list[str]:
        """A person says the credentials are fixed (a ``/retry``): every profile may run."""
        with self.tx():
            names = list(self.refusals())
            self.conn.execute("DELETE FROM kv WHERE key LIKE 'refused:%'")
        return names

    # -- issues ----------------------------------------------------------------------------
    def issue(self, number: int) -> Issue | None:
        row = self.conn.execute("SELECT * FROM issues WHERE number = ?", (number,)).fetchone()
        return _decode(Issue, row) if row else None

    def issues(self, states: Iterable[str] | None = None) -> list[Issue]:
        if states is None:
            rows = self.conn.execute("SELECT * FROM issues ORDER BY number")
        else:
            wanted = list(states)
            marks = ", ".join("?" for _ in wanted)
            rows = self.conn.execute(f"SELECT * FROM issues WHERE state IN ({marks}) "
                                     "ORDER BY number", wanted)
        return [_decode(Issue, r) for r in rows]

    def add_issue(self, issue: Issue) -> None:
        now = time.time()
        values = {f.name: getattr(issue, f.name) for f in fields(Issue)
                  if getattr(issue, f.name) is not None}  # unset columns stay NULL
        if not values.get("verify_failures"):
            values.pop("verify_failures", None)  # its column's default
        values["created_at"] = values["created_at"] or now
        values["updated_at"] = now
        with self.tx():
            self._insert("issues", values)
            events.append(self.conn, "issue.new", issue=issue.number, title=issue.title,
                          author=issue.author, state=issue.state)

    def update_issue(self, number: int, **changes: Any) -> None:
        """Change mirror fields (title, labels, PR link...) without a state transition."""
        changes["updated_at"] = time.time()
        with self.tx():
            self._update("issues", "number", number, changes)

    def set_issue_state(self, number: int, state: IssueState, reason: str | None = None,
                        **changes: Any) -> None:
        assert state in ISSUE_STATES, state
        with self.tx():
            old = self.conn.execute("SELECT state FROM issues WHERE number = ?",
                                    (number,)).fetchone()
            self._update("issues", "number", number,
                         {"state": state, "reason": reason, "updated_at": time.time(), **changes})
            events.append(self.conn, "issue.state", issue=number,
                          old=old[0] if old else None, new=state, reason=reason)

    # -- the integration branch ------------------------------------------------------------
    def record_merge(self, issue: int, *, task: Task | None, run_id: str | None, head: str,
                     before: str, merge: str) -> None:
        """A merge into the integration branch and the branch's new head: one change (the
        caller moves the ref afterwards, so the record is never behind the branch)."""
        with self.tx():
            self._insert("integration_merges", {
                "issue": issue, "task_id": task.id if task else None,
                "task_key": task.key if task else "", "run_id": run_id, "head": head,
                "before": before, "merge": merge, "created_at": time.time()})
            self._update("issues", "number", issue,
                         {"integration_head": merge, "updated_at": time.time()})
            events.append(self.conn, "integration.merge", issue=issue,
                          task=task.ref if task else None, run=run_id, head=head,
                          before=before, merge=merge)

    def merges(self, issue: int) -> list[Merge]:
        rows = self.conn.execute("SELECT * FROM integration_merges WHERE issue = ? ORDER BY id",
                                 (issue,))
        return [_decode(Merge, r) for r in rows]

    def rewrite_merge(self, merge_id: int, *, before: str, merge: str) -> None:
        """A rebuilt branch: the same task heads, merged again onto new commits."""
        with self.tx():
            self._update("integration_merges", "id", merge_id, {"before": before,
                                                                "merge": merge})

    def verified_heads(self, issue: int) -> set[str]:
        """Integration heads whose checks passed (the subjects of passing verify runs)."""
        rows = self.conn.execute("SELECT subject FROM runs WHERE kind = 'verify' AND issue = ? "
                                 "AND verdict = 'pass'", (issue,))
        return {r[0] for r in rows if r[0]}

    # -- tasks -----------------------------------------------------------------------------
    def task(self, task_id: int) -> Task | None:
        row = self.conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return _decode(Task, row) if row else None

    def task_by_ref(self, ref: str) -> Task | None:
        issue, _, key = ref.partition("-")
        if not issue.isdigit() or not key:
            return None
        row = self.conn.execute("SELECT * FROM tasks WHERE issue = ? AND key = ?",
                                (int(issue), key)).fetchone()
        return _decode(Task, row) if row else None

    def tasks(self, issue: int | None = None, states: Iterable[str] | None = None) -> list[Task]:
        sql = "SELECT * FROM tasks WHERE 1=1"
        params: list[Any] = []
        if issue is not None:
            sql += " AND issue = ?"
            params.append(issue)
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({', '.join('?' for _ in wanted)})"
            params += wanted
        sql += " ORDER BY issue, position, id"
        return [_decode(Task, r) for r in self.conn.execute(sql, params)]

    def add_task(self, task: Task) -> int:
        now = time.time()
        # a column added by a later migration is left to its default while unset, so a store
        # over a database not migrated that far yet still adds tasks
        values = {f.name: getattr(task, f.name) for f in fields(Task) if f.name != "id"
                  and not (f.name in LATER_TASK_COLUMNS and not getattr(task, f.name))}
        values["created_at"] = now
        values["updated_at"] = now
        with self.tx():
            task_id = self._insert("tasks", values)
            events.append(self.conn, "task.new", issue=task.issue, task=task.ref,
                          title=task.title, state=task.state, depends_on=task.depends_on)
        return task_id

    def set_task_state(self, task: Task, state: TaskState, reason: str | None = None,
                       **changes: Any) -> None:
        assert state in TASK_STATES, state
        with self.tx():
            self._update("tasks", "id", task.id,
                         {"state": state, "reason": reason, "updated_at": time.time(), **changes})
            events.append(self.conn, "task.state", issue=task.issue, task=task.ref,
                          old=task.state, new=state, reason=reason,
                          **{k: v for k, v in changes.items()
                             if k in ("attempts", "not_before", "attempt_floor", "rounds")})
        task.state = state
        task.reason = reason
        for k, v in changes.items():
            setattr(task, k, v)

    def update_task(self, task: Task, **changes: Any) -> None:
        changes["updated_at"] = time.time()
        with self.tx():
            self._update("tasks", "id", task.id, changes)
        for k, v in changes.items():
            setattr(task, k, v)

    # -- runs ------------------------------------------------------------------------------
    def run(self, run_id: str) -> Run | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _decode(Run, row) if row else None

    def open_runs(self) -> list[Run]:
        rows = self.conn.execute("SELECT * FROM runs WHERE ended_at IS NULL ORDER BY started_at")
        return [_decode(Run, r) for r in rows]

    def runs_of(self, kind: str, subject: str) -> list[Run]:
        """The planner's or reviewer's runs about one plan version or one work run."""
        rows = self.conn.execute("SELECT * FROM runs WHERE kind = ? AND subject = ? "
                                 "ORDER BY started_at", (kind, subject))
        return [_decode(Run, r) for r in rows]

    def runs(self, task_id: int | None = None, issue: int | None = None) -> list[Run]:
        if task_id is not None:
            rows = self.conn.execute("SELECT * FROM runs WHERE task_id = ? ORDER BY started_at",
                                     (task_id,))
        elif issue is not None:
            rows = self.conn.execute("SELECT * FROM runs WHERE issue = ? ORDER BY started_at",
                                     (issue,))
        else:
            rows = self.conn.execute("SELECT * FROM runs ORDER BY started_at")
        return [_decode(Run, r) for r in rows]

    def start_run(self, run: Run, task: Task | None, **task_changes: Any) -> None:
        """Record a run; a work run also moves its task to ``running`` (a reviewer's run
        leaves its task in ``review``)."""
        values = {f.name: getattr(run, f.name) for f in fields(Run)
                  if getattr(run, f.name) is not None}  # unset columns stay NULL
        with self.tx():
            self._insert("runs", values)
            events.append(self.conn, "run.start", issue=run.issue,
                          task=task.ref if task else None, run=run.id, run_kind=run.kind,
                          attempt=run.attempt, profile=run.profile, pid=run.pid,
                          launcher=run.launcher)
            if task is not None and run.kind == "work":
                self.set_task_state(task, TaskState.RUNNING, None, **task_changes)

    def update_run(self, run_id: str, **changes: Any) -> None:
        with self.tx():
            self._update("runs", "id", run_id, changes)

    def finish_run(self, run: Run, task: Task | None, **changes: Any) -> None:
        """Record a run's end and roll its cost into the task, in one transaction."""
        changes.setdefault("ended_at", time.time())
        with self.tx():
            self._update("runs", "id", run.id, changes)
            cost = float(changes.get("cost_usd") or 0.0)
            if task is not None and cost:
                self.conn.execute("UPDATE tasks SET cost_usd = cost_usd + ? WHERE id = ?",
                                  (cost, task.id))
                task.cost_usd += cost
            events.append(self.conn, "run.end", issue=run.issue,
                          task=task.ref if task else None, run=run.id,
                          outcome=changes.get("outcome"), error=changes.get("error"),
                          cost_usd=cost, commits=len(changes.get("commits") or []),
                          host=changes.get("host") or run.host)
        for k, v in changes.items():
            setattr(run, k, v)

    def cost_since(self, ts: float) -> float:
        row = self.conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE started_at >= ?",
                                (ts,)).fetchone()
        return float(row[0])

    def issue_cost(self, issue: int) -> float:
        row = self.conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE issue = ?",
                                (issue,)).fetchone()
        return float(row[0])

    def usage(self, issue: int) -> dict[int | None, Usage]:
        """Tokens, turns and cost of an issue's runs, by task id (None: planning, judging
        and checking runs of the issue itself)."""
        rows = self.conn.execute(
            "SELECT task_id, SUM(tokens_in), SUM(tokens_out), SUM(turns), SUM(cost_usd) "
            "FROM runs WHERE issue = ? GROUP BY task_id", (issue,)).fetchall()
        return {r[0]: Usage(int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), float(r[4] or 0))
                for r in rows}

    def issue_run_count(self, issue: int) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM runs WHERE issue = ? AND kind = 'work'",
                                (issue,)).fetchone()
        return int(row[0])

    # -- cycles ----------------------------------------------------------------------------
    def begin_cycle(self, started_at: float) -> int:
        with self.tx():
            row = self.conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM cycles").fetchone()
            number = int(row[0])
            self._insert("cycles", {"number": number, "started_at": started_at})
        return number

    def end_cycle(self, number: int, rung: str, actions: list[Any], sleep_s: float,
                  error: str | None = None, wakes: Iterable[str] = ()) -> None:
        """Record a cycle's end; ``wakes`` (why it ran) each add one to kv ``wakes:REASON``."""
        with self.tx():
            self._update("cycles", "number", number,
                         {"ended_at": time.time(), "rung": rung, "actions": actions,
                          "sleep_s": sleep_s, "error": error})
            for reason in wakes:
                self.conn.execute(
                    "INSERT INTO kv (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE "
                    "SET value = CAST(value AS INTEGER) + 1", (WAKES_PREFIX + reason,))
            if rung not in ("sleep", "busy"):
                events.append(self.conn, "cycle", cycle=number, rung=rung, actions=actions,
                              error=error)

    def last_cycle(self) -> Cycle | None:
        row = self.conn.execute("SELECT * FROM cycles WHERE ended_at IS NOT NULL "
                                "ORDER BY number DESC LIMIT 1").fetchone()
        return _decode(Cycle, row) if row else None

    def recent_cycles(self, limit: int) -> list[Cycle]:
        rows = self.conn.execute("SELECT * FROM cycles WHERE ended_at IS NOT NULL "
                                 "ORDER BY number DESC LIMIT ?", (limit,))
        return [_decode(Cycle, r) for r in rows]

    # -- commands (slash commands and CLI requests) ----------------------------------------
    def add_command(self, *, source: str, verb: str, issue: int | None, author: str = "",
                    arg: str = "", text: str = "") -> bool:
        """Queue a command once per source; returns False when that source was seen before."""
        with self.tx():
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO commands "
                "(source, verb, issue, author, arg, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, verb, issue, author, arg, text, time.time()))
            if cur.rowcount:
                events.append(self.conn, "command.new", issue=issue, verb=verb, arg=arg,
                              author=author, source=source)
            return bool(cur.rowcount)

    def pending_commands(self) -> list[Command]:
        rows = self.conn.execute("SELECT * FROM commands WHERE applied_at IS NULL ORDER BY id")
        return [_decode(Command, r) for r in rows]

    def commands(self, issue: int | None = None) -> list[Command]:
        if issue is None:
            rows = self.conn.execute("SELECT * FROM commands ORDER BY id")
        else:
            rows = self.conn.execute("SELECT * FROM commands WHERE issue = ? ORDER BY id", (issue,))
        return [_decode(Command, r) for r in rows]

    def mark_command(self, command: Command, result: str) -> None:
        with self.tx():
            self._update("commands", "id", command.id,
                         {"applied_at": time.time(), "result": result})
            events.append(self.conn, "command.applied", issue=command.issue, verb=command.verb,
                          arg=command.arg, result=result)

    # -- the outbox: tracker writes decided in a state transaction, sent afterwards ----------
    def enqueue(self, key: str, *, issue: int, kind: str, body: str,
                replace: bool = False) -> bool:
        """Queue a tracker write once per key (``replace`` re-arms it with a new body)."""
        with self.tx():
            if replace:
                cur = self.conn.execute(
                    "INSERT INTO outbox (key, issue, kind, body, created_at) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET body = excluded.body, sent_at = NULL, "
                    "created_at = excluded.created_at WHERE outbox.body != excluded.body "
                    "OR outbox.sent_at IS NULL",
                    (key, issue, kind, body, time.time()))
            else:
                cur = self.conn.execute(
                    "INSERT OR IGNORE INTO outbox (key, issue, kind, body, created_at) "
                    "VALUES (?, ?, ?, ?, ?)", (key, issue, kind, body, time.time()))
            return bool(cur.rowcount)

    def pending_writes(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM outbox WHERE sent_at IS NULL AND tries < ? "
                                 "ORDER BY created_at, rowid", (MAX_WRITE_TRIES,)).fetchall()

    def has_pending_writes(self) -> bool:
        return self.conn.execute("SELECT 1 FROM outbox WHERE sent_at IS NULL AND tries < ? "
                                 "LIMIT 1", (MAX_WRITE_TRIES,)).fetchone() is not None

    def mark_sent(self, key: str, *, issue: int, kind: str, ref: str, found: bool) -> None:
        with self.tx():
            self._update("outbox", "key", key, {"sent_at": time.time(), "ref": ref, "error": None})
            events.append(self.conn, f"tracker.{kind}", issue=issue, key=key, ref=ref,
                          found_existing=found)

    def mark_failed(self, key: str, error: str) -> None:
        with self.tx():
            self.conn.execute("UPDATE outbox SET tries = tries + 1, error = ? WHERE key = ?",
                              (error[:2000], key))

    def iter_events(self, **kw: Any) -> Iterator[dict[str, Any]]:
        yield from events.rows(self.conn, **kw)
