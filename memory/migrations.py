"""Named, append-only schema migrations for the state database.

Never edit or reorder a migration that has shipped: add a new one at the end. Each migration
runs in its own ``BEGIN IMMEDIATE`` transaction together with the row that records it, so a
crash part-way leaves the database exactly as it was before that migration.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shiftctl.memory.db import StateCorrupt, StateTooNew, transaction

Step = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    name: str
    steps: Sequence[Step]


def _backfill_episodes(conn: sqlite3.Connection) -> None:
    """Runs that ended before memory existed become episodes too (without their log facts)."""
    conn.execute(
        "INSERT INTO episodes (run_id, seq, issue, task_id, task_key, title, body, paths, attempt, "
        "profile, outcome, summary, error, failures, files, checks, cost_usd, tokens_in, "
        "tokens_out, started_at, ended_at, created_at, updated_at) "
        "SELECT r.id, ROW_NUMBER() OVER (ORDER BY r.ended_at, r.id), r.issue, r.task_id, "
        "COALESCE(t.key, ''), COALESCE(t.title, ''), substr(COALESCE(t.body, ''), 1, 2000), "
        "COALESCE(t.paths, '[]'), r.attempt, r.profile, COALESCE(r.outcome, 'unknown'), "
        "COALESCE(r.summary, ''), COALESCE(r.error, ''), r.findings, r.files_changed, '[]', "
        "r.cost_usd, r.tokens_in, r.tokens_out, r.started_at, r.ended_at, r.ended_at, r.ended_at "
        "FROM runs r LEFT JOIN tasks t ON t.id = r.task_id "
        "WHERE r.ended_at IS NOT NULL AND r.kind = 'work'")


MIGRATIONS: list[Migration] = [
    Migration("0001_core", [
        """CREATE TABLE issues (
            number INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            labels TEXT NOT NULL DEFAULT '[]',
            tracker_state TEXT NOT NULL DEFAULT 'open',
            state TEXT NOT NULL,
            reason TEXT,
            priority INTEGER NOT NULL DEFAULT 0,
            plan_version INTEGER NOT NULL DEFAULT 0,
            approved INTEGER NOT NULL DEFAULT 0,
            branch TEXT,
            pr INTEGER,
            pr_state TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX issues_state ON issues(state)",
        """CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            issue INTEGER NOT NULL REFERENCES issues(number),
            key TEXT NOT NULL,
            plan_version INTEGER NOT NULL DEFAULT 1,
            parent TEXT,
            depth INTEGER NOT NULL DEFAULT 0,
            position INTEGER NOT NULL DEFAULT 0,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            success_criteria TEXT NOT NULL DEFAULT '[]',
            depends_on TEXT NOT NULL DEFAULT '[]',
            paths TEXT NOT NULL DEFAULT '[]',
            profile TEXT,
            fingerprint TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL,
            cost_usd REAL NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (issue, key)
        )""",
        "CREATE INDEX tasks_state ON tasks(state)",
        "CREATE INDEX tasks_issue ON tasks(issue)",
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            issue INTEGER NOT NULL,
            task_id INTEGER REFERENCES tasks(id),
            kind TEXT NOT NULL DEFAULT 'work',
            attempt INTEGER NOT NULL DEFAULT 1,
            profile TEXT,
            pid INTEGER,
            pgid INTEGER,
            pid_start TEXT,
            run_dir TEXT,
            worktree TEXT,
            branch TEXT,
            base_sha TEXT,
            started_at REAL NOT NULL,
            heartbeat_at REAL,
            ended_at REAL,
            outcome TEXT,
            exit_code INTEGER,
            counted INTEGER NOT NULL DEFAULT 1,
            commits TEXT NOT NULL DEFAULT '[]',
            files_changed TEXT NOT NULL DEFAULT '[]',
            checks TEXT NOT NULL DEFAULT '[]',
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            summary TEXT,
            error TEXT,
            question TEXT,
            findings TEXT NOT NULL DEFAULT '[]',
            prompt_hash TEXT,
            context_hash TEXT
        )""",
        "CREATE INDEX runs_task ON runs(task_id)",
        "CREATE INDEX runs_open ON runs(ended_at) WHERE ended_at IS NULL",
        "CREATE INDEX runs_started ON runs(started_at)",
        """CREATE TABLE cycles (
            number INTEGER PRIMARY KEY,
            started_at REAL NOT NULL,
            ended_at REAL,
            rung TEXT,
            actions TEXT NOT NULL DEFAULT '[]',
            sleep_s REAL,
            error TEXT
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            kind TEXT NOT NULL,
            issue INTEGER,
            task TEXT,
            data TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX events_issue ON events(issue)",
        """CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            issue INTEGER,
            source TEXT NOT NULL,
            author TEXT NOT NULL DEFAULT '',
            verb TEXT NOT NULL,
            arg TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            applied_at REAL,
            result TEXT,
            UNIQUE (source)
        )""",
        "CREATE INDEX commands_pending ON commands(applied_at) WHERE applied_at IS NULL",
        """CREATE TABLE outbox (
            key TEXT PRIMARY KEY,
            issue INTEGER NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at REAL NOT NULL,
            sent_at REAL,
            ref TEXT,
            tries INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )""",
        "CREATE INDEX outbox_pending ON outbox(created_at) WHERE sent_at IS NULL",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ]),
    Migration("0002_memory", [
        # episodic memory: one row per finished run; ``seq`` grows on every insert or update,
        # so "new episodes since the last distillation" is one comparison
        """CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            seq INTEGER NOT NULL DEFAULT 0,
            issue INTEGER NOT NULL,
            task_id INTEGER,
            task_key TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            paths TEXT NOT NULL DEFAULT '[]',
            attempt INTEGER NOT NULL DEFAULT 1,
            profile TEXT,
            outcome TEXT NOT NULL,
            merged INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            failures TEXT NOT NULL DEFAULT '[]',
            files TEXT NOT NULL DEFAULT '[]',
            checks TEXT NOT NULL DEFAULT '[]',
            facts TEXT NOT NULL DEFAULT '[]',
            learnings TEXT NOT NULL DEFAULT '[]',
            cost_usd REAL NOT NULL DEFAULT 0,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            started_at REAL,
            ended_at REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX episodes_task ON episodes(task_id)",
        "CREATE INDEX episodes_seq ON episodes(seq)",
        """CREATE VIRTUAL TABLE episodes_fts USING fts5(
            title, body, summary, failures, files, facts,
            content='episodes', content_rowid='id', tokenize='porter unicode61')""",
        """CREATE TRIGGER episodes_ai AFTER INSERT ON episodes BEGIN
            INSERT INTO episodes_fts (rowid, title, body, summary, failures, files, facts)
            VALUES (new.id, new.title, new.body, new.summary, new.failures, new.files, new.facts);
        END""",
        """CREATE TRIGGER episodes_ad AFTER DELETE ON episodes BEGIN
            INSERT INTO episodes_fts (episodes_fts, rowid, title, body, summary, failures, files,
                                      facts)
            VALUES ('delete', old.id, old.title, old.body, old.summary, old.failures, old.files,
                    old.facts);
        END""",
        """CREATE TRIGGER episodes_au AFTER UPDATE OF title, body, summary, failures, files, facts
        ON episodes BEGIN
            INSERT INTO episodes_fts (episodes_fts, rowid, title, body, summary, failures, files,
                                      facts)
            VALUES ('delete', old.id, old.title, old.body, old.summary, old.failures, old.files,
                    old.facts);
            INSERT INTO episodes_fts (rowid, title, body, summary, failures, files, facts)
            VALUES (new.id, new.title, new.body, new.summary, new.failures, new.files, new.facts);
        END""",
        # procedural memory: lessons, with how often each was shown and how often that run's
        # work was then merged
        """CREATE TABLE lessons (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            evidence INTEGER NOT NULL DEFAULT 1,
            shown INTEGER NOT NULL DEFAULT 0,
            helped INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            retired_at REAL,
            retired_reason TEXT
        )""",
        """CREATE VIRTUAL TABLE lessons_fts USING fts5(
            text, terms, content='lessons', content_rowid='id', tokenize='porter unicode61')""",
        """CREATE TRIGGER lessons_ai AFTER INSERT ON lessons BEGIN
            INSERT INTO lessons_fts (rowid, text, terms) VALUES (new.id, new.text, new.terms);
        END""",
        """CREATE TRIGGER lessons_ad AFTER DELETE ON lessons BEGIN
            INSERT INTO lessons_fts (lessons_fts, rowid, text, terms)
            VALUES ('delete', old.id, old.text, old.terms);
        END""",
        """CREATE TRIGGER lessons_au AFTER UPDATE OF text, terms ON lessons BEGIN
            INSERT INTO lessons_fts (lessons_fts, rowid, text, terms)
            VALUES ('delete', old.id, old.text, old.terms);
            INSERT INTO lessons_fts (rowid, text, terms) VALUES (new.id, new.text, new.terms);
        END""",
        """CREATE TABLE lesson_shows (
            run_id TEXT NOT NULL,
            lesson_id INTEGER NOT NULL REFERENCES lessons(id),
            PRIMARY KEY (run_id, lesson_id)
        )""",
        _backfill_episodes,
    ]),
    # Read-only runs of an agent planner or reviewer: what they judged and what they said.
    Migration("0003_judgment_runs", [
        "ALTER TABLE runs ADD COLUMN subject TEXT",   # judge: the work run; plan: 'vN'
        "ALTER TABLE runs ADD COLUMN verdict TEXT",   # judge: pass | fail
        "CREATE INDEX runs_subject ON runs(subject) WHERE subject IS NOT NULL",
    ]),
    # The integration branch as shiftctl last left it: its head (compared with the ref before
    # every merge, push and ready), the base it started from, why it is on hold when the ref
    # was found elsewhere, failed checks of the integrated branch, and every merge in order
    # (to rebuild the branch when it is deleted).
    Migration("0005_integration_integrity", [
        "ALTER TABLE issues ADD COLUMN integration_head TEXT",
        "ALTER TABLE issues ADD COLUMN integration_base TEXT",
        "ALTER TABLE issues ADD COLUMN integration_hold TEXT",
        "ALTER TABLE issues ADD COLUMN verify_failures INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE integration_merges (
            id INTEGER PRIMARY KEY,
            issue INTEGER NOT NULL REFERENCES issues(number),
            task_id INTEGER,
            task_key TEXT NOT NULL,
            run_id TEXT,
            head TEXT NOT NULL,
            before TEXT NOT NULL,
            merge TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX integration_merges_issue ON integration_merges(issue, id)",
    ]),
    # Work a person accepted: an issue's episodes are ``accepted`` once its pull request was
    # merged, and only accepted episodes are distilled into lessons. Issues merged before this
    # migration count as accepted; lessons distilled from the agent text of work nobody
    # accepted (learnings, fixes) are retired.
    Migration("0006_accepted_work", [
        "ALTER TABLE episodes ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX episodes_accepted ON episodes(accepted, id)",
        "UPDATE episodes SET accepted = 1 WHERE issue IN "
        "(SELECT number FROM issues WHERE pr_state = 'merged')",
        "UPDATE lessons SET retired_at = CAST(strftime('%s', 'now') AS REAL), "
        "updated_at = CAST(strftime('%s', 'now') AS REAL), "
        "retired_reason = 'distilled from work no person accepted (0006_accepted_work)' "
        "WHERE retired_at IS NULL AND kind IN ('learning', 'fix') AND source LIKE 'run %' "
        "AND substr(source, 5) NOT IN (SELECT run_id FROM episodes WHERE accepted = 1)",
    ]),
    # The audit anchor: each event written with the audit key carries an HMAC of its chain
    # hash and the id of the key that made it, so a writer of this file without the key can
    # no longer recompute the chain after editing or deleting rows. Rows written before the
    # key existed keep NULL here ("before the anchor").
    Migration("0007_audit_anchor", [
        "ALTER TABLE events ADD COLUMN mac TEXT",
        "ALTER TABLE events ADD COLUMN key_id TEXT",
    ]),
    # Following the person (issue 13). ``attempt_floor``: the attempts a task had spent when
    # a person last granted it a fresh round (``/retry``), so a round is ``attempts -
    # attempt_floor`` and ``attempts`` itself never goes back (its failure comments stay
    # apart); ``rounds``: how many rounds a person granted (later rounds' comments, such as
    # "cannot start", are told apart by it). ``ignored_issues``: issues on the tracker that
    # are not intake, and why, so that nothing is ignored silently (one row per issue; an
    # event when its reason changes).
    Migration("0009_intent_rounds", [
        "ALTER TABLE tasks ADD COLUMN attempt_floor INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tasks ADD COLUMN rounds INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE ignored_issues (
            number INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL
        )""",
    ]),
    # The agent's turns per run (as its stream reported them), shown with tokens and cost in
    # status, comments and the PR body.
    Migration("0010_cli", [
        "ALTER TABLE runs ADD COLUMN turns INTEGER NOT NULL DEFAULT 0",
    ]),
    # Launchers (docs/design.md §5): which launcher started a run and its opaque handle there
    # (a queue job id, a Kubernetes Job name), and the host that ran it. The ladder never
    # reads them; only the launcher that started a run probes, stops and collects it. NULL
    # launcher: the local process launcher (every run before this migration).
    Migration("0011_launchers", [
        "ALTER TABLE runs ADD COLUMN launcher TEXT",
        "ALTER TABLE runs ADD COLUMN handle TEXT",
        "ALTER TABLE runs ADD COLUMN host TEXT",
    ]),
]

# Tables every migrated state database has; a file that lacks one is not usable state.
CORE_TABLES = ("issues", "tasks", "runs", "cycles", "events", "commands", "outbox", "kv")


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")


def applied(conn: sqlite3.Connection) -> list[str]:
    try:
        rows = conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    except sqlite3.OperationalError:
        return []
    return [r[0] for r in rows]


def pending(conn: sqlite3.Connection,
            migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    done = set(applied(conn))
    known = {m.name for m in migrations}
    unknown = done - known
    if unknown:
        raise StateTooNew(f"state database has migrations this shiftctl does not know: "
                          f"{sorted(unknown)}; upgrade shiftctl")
    return [m for m in migrations if m.name not in done]


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a database that is not shiftctl's state before anything reads or migrates it.

    An empty file is a new database. A file with tables but no migration record belongs to
    something else (migrating it would mix our tables into it); one whose migration record
    names tables it no longer has was damaged or edited.
    """
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if not tables:
        return
    if "schema_migrations" not in tables:
        shown = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
        raise StateCorrupt(f"not a shiftctl state database: it has tables {shown} "
                           "but no schema_migrations")
    if not applied(conn):
        return  # created, not migrated yet: a first cycle died part-way
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing:
        raise StateCorrupt(f"the state database lacks the tables {', '.join(missing)}")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS,
            on_step: Callable[[str, int], None] | None = None) -> list[str]:
    """Apply what is missing; returns the names applied. ``on_step`` is a test hook."""
    with transaction(conn):
        _ensure_table(conn)
    names = []
    for migration in pending(conn, migrations):
        with transaction(conn):
            for i, step in enumerate(migration.steps):
                if on_step:
                    on_step(migration.name, i)
                if callable(step):
                    step(conn)
                else:
                    conn.execute(step)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                         (migration.name, time.time()))
        names.append(migration.name)
    return names
