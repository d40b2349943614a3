"""Fault injection for tests: ``SHIFTCTL_FAULT=point`` makes the admin die right there.

Every side-effect point calls ``point(name)``; in production the variable is unset and the
call costs one dictionary lookup.
"""
from __future__ import annotations

import os
import sqlite3

EXIT_CODE = 86

# Every place where the admin has done something outside the state db (or is half-way through
# a state change) and has not recorded it yet. The crash-safety test loops over all of them.
POINTS = (
    "mid_migration",       # a schema migration has run some of its steps
    "after_comment",       # a comment is on the tracker, the outbox does not know yet
    "after_label",         # labels changed on the tracker, not recorded
    "after_record_run",    # a run is recorded, its worker not started
    "after_launch",        # a worker is started, its pid not recorded
    "mid_state_change",    # inside the transaction that ends a run and moves its task
    "after_merge",         # a task's merge commit exists, nothing recorded, the ref unmoved
    "after_record_merge",  # the merge is recorded (task done, new head), the ref not moved yet
    "after_push",          # the integration branch is pushed, the PR not opened
    "after_open_pr",       # the PR is opened, not recorded
)


def point(name: str) -> None:
    wanted = os.environ.get("SHIFTCTL_FAULT")
    if wanted and wanted == name:
        os._exit(EXIT_CODE)


def disk_full(conn: sqlite3.Connection) -> None:
    """``SHIFTCTL_FAULT=disk_full``: the state db cannot grow, as on a full disk (SQLITE_FULL)."""
    if os.environ.get("SHIFTCTL_FAULT") == "disk_full":
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {int(pages)}")


def migration_step(name: str, step: int) -> None:
    """Hook for ``memory.migrations.migrate``: die after a migration's first step."""
    if step == 1:
        point("mid_migration")
