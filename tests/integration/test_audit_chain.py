"""The audit anchor against a writer of state.db who lacks the key: rewrites with the hash
chain recomputed, truncations, both, and the next cycle trying to paper over them.

Real SQLite files, the real key and anchor files; the attack is ``tests/agents/forger.py``'s.
"""
from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from shiftctl.admin.audit import anchor
from shiftctl.admin.audit.verdict import Verdict, verify
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import StateWriter
from shiftctl.memory import audit
from shiftctl.memory.db import StateCorrupt
from shiftctl.memory.store import Store

from support.forgery import forge

NOW = 1_800_000_000.0


def write_events(paths: Paths, n: int, now: float = NOW) -> str | None:
    """What a cycle does: write signed events as the single writer, then seal the anchor;
    returns the break the seal recorded, if any."""
    writer = StateWriter(paths)
    try:
        for i in range(n):
            writer.store.event("test", issue=1, i=i)
        return writer.seal(now)
    finally:
        writer.close()


def verdict(paths: Paths) -> Verdict:
    store = Store.open(paths.state_db, readonly=True)
    try:
        return verify(store.conn, paths)
    finally:
        store.close()


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    root = tmp_path / "repo"
    root.mkdir()
    return Paths(root)


def test_an_untouched_log_verifies_every_mac_and_the_anchor(paths: Paths) -> None:
    assert write_events(paths, 10) is None
    assert write_events(paths, 0, NOW + 1) is None
    v = verdict(paths)
    assert v.ok and v.status == "intact", v.to_json()
    assert v.data["verified"] == 10 and v.data["anchor"]["event"] == 10


def test_a_rewrite_with_the_chain_recomputed_fails_at_the_rewritten_event(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, edit=4)
    conn = sqlite3.connect(paths.state_db)
    assert audit.verify(conn).first(audit.REWRITTEN) is None  # the SHA chain alone is fooled
    conn.close()
    v = verdict(paths)
    assert not v.ok and v.status == "rewritten"
    assert v.problems[0]["event"] == 4
    assert "rewritten at event 4" in v.summary


def test_deleting_the_newest_events_fails_as_a_truncation(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, drop=3)
    v = verdict(paths)
    assert not v.ok and v.status == "truncated"
    assert "anchor at event 10, the log ends at event 7" in v.summary


def test_a_rewrite_and_a_truncation_together_are_both_reported(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, edit=2, drop=4)
    v = verdict(paths)
    kinds = [(p["kind"], p["event"]) for p in v.problems]
    assert ("rewritten", 2) in kinds and ("truncated", 10) in kinds, kinds


def test_the_next_writer_records_a_truncation_instead_of_erasing_it(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, drop=3)
    writer = StateWriter(paths)  # the next cycle: it writes events over the cut, then seals
    for i in range(6):
        writer.store.event("after", i=i)
    found = writer.seal(NOW + 60)
    writer.close()
    assert found and "events 8..10 were deleted" in found
    v = verdict(paths)
    assert not v.ok and v.status == "truncated" and "events 8..10 were deleted" in v.summary
    assert v.data["anchor"]["event"] == 13  # moved on: new events are protected again
    assert anchor.accept(paths, NOW + 120, "alice")  # a person looked into it
    v = verdict(paths)
    assert v.ok and any("accepted by alice" in n for n in v.notes)
    forge(paths.state_db, drop=2)  # and the moved anchor catches the next cut
    assert verdict(paths).status == "truncated"


def test_the_next_writer_cannot_bless_a_rewritten_log(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, edit=4)
    write_events(paths, 5, NOW + 60)  # new, validly signed events on top of the forgery
    v = verdict(paths)
    assert v.status == "rewritten" and v.problems[0]["event"] == 4


def test_an_idle_writer_never_anchors_on_a_forged_row(paths: Paths) -> None:
    write_events(paths, 10)
    forge(paths.state_db, edit=9, drop=0)
    write_events(paths, 0, NOW + 60)  # an idle cycle: nothing written, the anchor checked
    found = anchor.read(paths)
    assert found is not None and found.anchor is None  # not on the forged event 10
    assert [h["kind"] for h in found.history] == ["rewritten"]
    assert verdict(paths).status == "rewritten"


def test_events_from_before_the_key_pass_as_before_the_anchor_but_never_after(
        paths: Paths) -> None:
    old = Store.open(paths.state_db)  # an existing database: events without MACs
    for i in range(3):
        old.event("old", i=i)
    old.close()
    write_events(paths, 3)
    v = verdict(paths)
    assert v.ok and v.data["unsigned_before"] == 3 and v.data["first_signed"] == 4
    assert any("before the audit key existed" in n for n in v.notes)
    conn = sqlite3.connect(paths.state_db)  # stripping a MAC does not make a row "old"
    conn.execute("UPDATE events SET mac = NULL, key_id = NULL WHERE id = 5")
    conn.commit()
    conn.close()
    v = verdict(paths)
    assert v.status == "rewritten" and v.problems[0]["event"] == 5


def test_a_rewrite_among_the_unsigned_events_is_caught_by_the_first_mac(paths: Paths) -> None:
    old = Store.open(paths.state_db)
    for i in range(3):
        old.event("old", i=i)
    old.close()
    write_events(paths, 3)
    forge(paths.state_db, edit=2)
    v = verdict(paths)
    assert v.status == "rewritten" and v.problems[0]["event"] == 4
    assert "unsigned events 1..3" in v.problems[0]["message"]


def test_a_missing_key_is_said_and_the_rest_is_still_verified(paths: Paths) -> None:
    write_events(paths, 5)
    key_file = paths.audit_key
    kept = key_file.with_name("kept-elsewhere")
    key_file.rename(kept)  # a new machine: the log came along, the key did not
    v = verdict(paths)
    assert not v.ok and v.status == "key_missing"
    assert str(key_file) in " ".join(p["message"] for p in v.problems)
    assert v.data["events"] == 5 and v.data["verified"] == 0
    conn = sqlite3.connect(paths.state_db)  # the hash chain is still checked
    conn.execute("UPDATE events SET data = '{}' WHERE id = 2")
    conn.commit()
    conn.close()
    assert any(p["kind"] == "rewritten" and p["event"] == 2 for p in verdict(paths).problems)


def test_on_a_new_machine_new_events_get_a_new_key_and_the_old_one_can_join(
        paths: Paths) -> None:
    write_events(paths, 5)
    old_key = paths.audit_key.read_text()
    paths.audit_key.unlink()
    paths.audit_anchor.unlink()
    write_events(paths, 5, NOW + 60)  # the next cycle makes a new key
    v = verdict(paths)
    assert v.status == "key_missing" and "events 1..5" in v.summary
    (paths.audit_dir / "from-the-old-machine.key").write_text(old_key)
    v = verdict(paths)
    assert v.ok, v.to_json()
    assert v.data["verified"] == 10


def test_the_key_is_private_and_outside_the_repository(paths: Paths) -> None:
    write_events(paths, 1)
    key = paths.audit_key
    assert not key.resolve().is_relative_to(paths.root.resolve())
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.audit_anchor.stat().st_mode) == 0o600
    assert key.parent == Path.home() / ".config" / "shiftctl" / "audit"


def test_a_moved_repository_keeps_verifying_with_its_old_key(paths: Paths,
                                                             tmp_path: Path) -> None:
    write_events(paths, 4)
    moved = Paths(Path(shutil.move(str(paths.root), tmp_path / "elsewhere")))
    assert moved.repo_id != paths.repo_id
    write_events(moved, 3, NOW + 60)  # a new key and anchor at the new place
    v = verdict(moved)
    assert v.ok and v.data["verified"] == 7, v.to_json()


def test_an_emptied_state_db_is_refused_when_the_anchor_knew_events(paths: Paths) -> None:
    write_events(paths, 4)
    paths.state_db.write_bytes(b"")
    for side in ("-wal", "-shm"):
        Path(f"{paths.state_db}{side}").unlink(missing_ok=True)
    with pytest.raises(StateCorrupt, match="empty, but the audit anchor says the log reached "
                                           "event 4"):
        StateWriter(paths)
    assert paths.state_db.stat().st_size == 0  # refused before anything was written


def test_a_deleted_state_db_starts_over_and_says_so(paths: Paths) -> None:
    write_events(paths, 4)
    for p in paths.runtime.glob("state.db*"):
        p.unlink()  # rm -rf .shiftctl, on purpose or not
    write_events(paths, 2, NOW + 60)
    v = verdict(paths)
    assert v.status == "truncated" and "a new one was started" in v.summary
    anchor.accept(paths, NOW + 120, "alice")
    assert verdict(paths).ok
