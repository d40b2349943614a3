"""The state db: WAL, busy timeout, append-only named migrations, a verifiable event chain."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shiftctl.memory import audit
from shiftctl.memory.db import StateError, connect, transaction
from shiftctl.memory.migrations import MIGRATIONS, Migration, applied, migrate
from shiftctl.memory.store import Store


def test_wal_mode_busy_timeout_and_migrations_recorded(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert applied(store.conn) == [m.name for m in MIGRATIONS]
        rows = store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        tables = {r[0] for r in rows}
        assert {"issues", "tasks", "runs", "cycles", "events", "commands", "outbox"} <= tables
    finally:
        store.close()


def test_migrations_are_names_applied_once_in_order(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    extra = [*MIGRATIONS, Migration("9999_extra", ["CREATE TABLE extra (x)"])]
    assert migrate(conn, MIGRATIONS) == [m.name for m in MIGRATIONS]
    assert migrate(conn, extra) == ["9999_extra"]
    assert migrate(conn, extra) == []
    with pytest.raises(StateError, match="upgrade shiftctl"):
        migrate(conn, MIGRATIONS)  # an older shiftctl refuses a newer database


def test_a_crash_in_the_middle_of_a_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    migrate(conn)
    boom = Migration("9999_two_steps", ["CREATE TABLE one (x)", "CREATE TABLE two (x)"])

    def crash(name: str, step: int) -> None:
        if name == "9999_two_steps" and step == 1:
            raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        migrate(conn, [*MIGRATIONS, boom], on_step=crash)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "one" not in names and "9999_two_steps" not in applied(conn)
    assert migrate(conn, [*MIGRATIONS, boom]) == ["9999_two_steps"]


def test_write_transactions_are_immediate_and_roll_back(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    a, b = connect(path), connect(path)
    a.execute("CREATE TABLE t (x)")
    with transaction(a):
        a.execute("INSERT INTO t VALUES (1)")
        b.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            b.execute("BEGIN IMMEDIATE")  # the writer holds the lock from BEGIN on
    with pytest.raises(RuntimeError), transaction(a):
        a.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError
    assert [r[0] for r in a.execute("SELECT x FROM t")] == [1]


def test_event_chain_verifies_and_names_the_first_tampered_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    for i in range(5):
        store.event("test", issue=1, i=i)
    assert audit.verify(store.conn).ok
    assert audit.verify(store.conn).events == 5
    store.conn.execute("UPDATE events SET data = '{\"i\": 99}' WHERE id = 3")
    report = audit.verify(store.conn)
    problem = report.problems[0]
    assert not report.ok and problem.event == 3 and "hash" in problem.message
    store.conn.execute("DELETE FROM events WHERE id = 3")
    report = audit.verify(store.conn)
    problem = report.problems[0]
    assert not report.ok and problem.event == 3 and "missing" in problem.message
    store.close()


def test_audit_verify_cli_detects_tampering(project) -> None:
    project.file_issue("x", "- [ ] a\n  ```sh\n  echo a > a\n  ```\n")
    project.run()
    assert "chain intact" in project.cli("audit", "verify").stdout
    conn = sqlite3.connect(project.root / ".shiftctl" / "state.db")
    conn.execute("UPDATE events SET kind = 'forged' WHERE id = 4")
    conn.commit()
    conn.close()
    out = project.cli("audit", "verify", check=False)
    assert out.returncode == 1 and "rewritten at event 4" in out.stderr


def test_readonly_store_refuses_writes(tmp_path: Path) -> None:
    Store.open(tmp_path / "state.db").close()
    ro = Store.open(tmp_path / "state.db", readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.event("nope")
    ro.close()
