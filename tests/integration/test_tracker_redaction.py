"""Every tracker write passes the redactor, whoever makes it (admin/tracker/redacting.py),
against the real local tracker's database."""
from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

import pytest

from shiftctl.admin.config import load
from shiftctl.admin.paths import Paths
from shiftctl.admin.redact import REDACTED
from shiftctl.admin.tracker import open_tracker
from shiftctl.admin.tracker.base import Tracker
from shiftctl.admin.tracker.local import LocalTracker
from shiftctl.admin.tracker.outbox import Outbox
from shiftctl.admin.tracker.redacting import RedactingTracker
from shiftctl.memory.store import Store

from support.project import Project
from support.repos import git

KEY = "sk-ant-api03-" + "K" * 40
TOKEN = "never-leaves-0123456789"


def dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_every_write_of_an_opened_tracker_is_redacted(project: Project,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("DEPLOY_TOKEN", TOKEN)
    n = project.file_issue("x", "body")
    tracker = open_tracker(load(project.root))
    try:
        assert isinstance(tracker, RedactingTracker) and tracker.kind == "local"
        c = tracker.post_comment(n, f"<!-- shiftctl:t:{n}:1 -->\nkey {KEY} token {TOKEN}")
        tracker.edit_comment(n, c.id, f"<!-- shiftctl:t:{n}:1 -->\nedited {TOKEN}")
        git(project.root, "branch", "feature")
        pr = tracker.open_pr(head="feature", base="main", title=f"t {TOKEN}",
                             body=f"b {KEY}", draft=True, issue=n)
        tracker.update_pr(pr.number, title=f"t2 {KEY}", body=f"b2 {TOKEN}")
        found = tracker.find_comment(n, f"<!-- shiftctl:t:{n}:1 -->")
        assert found is not None and found.id == c.id
    finally:
        tracker.close()
    data = dump(Paths(project.root).tracker_db)
    assert KEY not in data and TOKEN not in data
    assert f"edited {REDACTED}" in data and f"t2 {REDACTED}" in data
    assert f"b2 {REDACTED}" in data


def test_the_wrapper_decides_every_method_of_the_interface() -> None:
    # a method added to Tracker later must be decided here, not inherited unredacted
    public = {name for name, _ in inspect.getmembers(Tracker, inspect.isfunction)
              if not name.startswith("_")}
    own = {name for name in vars(RedactingTracker) if not name.startswith("_")}
    assert public - own == set()
    assert {"kind", "bot", "requests"} <= own


def test_the_outbox_writes_each_comment_once_even_when_its_text_is_redacted(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_PASSWORD", TOKEN)
    n = project.file_issue("x", "body")
    store = Store.open(project.root / ".shiftctl" / "state.db")
    inner = LocalTracker(Paths(project.root).tracker_db, project.root)
    tracker = open_tracker(load(project.root))
    try:
        box = Outbox(store, tracker)
        with store.tx():
            box.comment(n, "question", "t1:1", f"Q: what is {TOKEN}?\n<!-- shiftctl:done:{n}:1 -->")
        box.flush()
        # the cycle died before recording: the row is pending again
        store.conn.execute("UPDATE outbox SET sent_at = NULL")
        box.flush()
        posted = [c.body for c in inner.get_issue(n).comments]
        assert len(posted) == 1 and TOKEN not in posted[0] and REDACTED in posted[0]
        # agent text cannot forge another marker: the quoted one is gone
        assert posted[0].count("<!-- shiftctl:") == 1
    finally:
        tracker.close()
        inner.close()
        store.close()
