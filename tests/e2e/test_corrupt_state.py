"""A damaged state.db: every command that needs it says what is wrong, names the newest good
backup and the command that restores it, exits non-zero and shows no traceback; the cycle
writes nothing to it; ``shiftctl state restore`` brings the loop back."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from shiftctl.admin import backups
from shiftctl.admin.paths import Paths

from support.project import Project
from support.repos import git, wait_for

TWO_TASKS = ("- [ ] first\n  ```sh\n  echo one > one.txt\n  ```\n"
             "- [ ] second\n  ```sh\n  echo two > two.txt\n  ```\n")


def _drop_wal(db: Path) -> None:
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)


def garbage(db: Path) -> None:
    db.write_bytes(bytes(range(256)) * 400)
    _drop_wal(db)


def truncated(db: Path) -> None:
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    _drop_wal(db)


def emptied(db: Path) -> None:
    db.write_bytes(b"")
    _drop_wal(db)


def other_schema(db: Path) -> None:
    db.unlink()
    _drop_wal(db)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE issues (id INTEGER PRIMARY KEY, summary TEXT)")
    conn.execute("INSERT INTO issues (summary) VALUES ('somebody else''s data')")
    conn.commit()
    conn.close()


def from_a_newer_shiftctl(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future', 0)")
    conn.commit()
    conn.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": garbage, "truncated": truncated, "emptied": emptied,
    "other schema": other_schema, "newer shiftctl": from_a_newer_shiftctl}


def with_a_backup(project: Project) -> tuple[Paths, Path]:
    """A finished issue, a backup of that state, then one more event after it."""
    project.file_issue("Before", "- [ ] a\n  ```sh\n  echo a > a.txt\n  ```\n")
    project.run()
    project.cli("state", "backup")
    paths = Paths(project.root)
    (backup,) = backups.listing(paths)
    return paths, backup


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_every_command_names_the_backup_and_the_restore_command(project: Project,
                                                                 damage: str) -> None:
    paths, backup = with_a_backup(project)
    DAMAGE[damage](paths.state_db)
    damaged = paths.state_db.read_bytes()
    for command in (["status"], ["doctor"], ["audit", "verify"], ["events"], ["cycle"],
                    ["cycle", "--json"], ["memory", "list"]):
        out = project.cli(*command, check=False)
        said = out.stdout + out.stderr
        assert out.returncode != 0, (command, said)
        assert "Traceback" not in said, (command, said)
        assert str(backup) in said and f"state restore {backup}" in said, (command, said)
        if damage == "newer shiftctl":
            assert "upgrade shiftctl" in said, said
        else:
            assert "state.db cannot be used" in said, said
    assert paths.state_db.read_bytes() == damaged  # nothing was written to it
    out = project.cli("cycle", "--json", check=False)
    assert json.loads(out.stdout)["rung"] == "error"  # the loop script backs off


def test_without_a_backup_the_message_says_how_to_start_over(project: Project) -> None:
    project.cycle()
    garbage(Paths(project.root).state_db)
    out = project.cli("status", check=False)
    assert out.returncode == 1 and "There is no usable backup" in out.stderr
    assert "mv " in out.stderr and "Traceback" not in out.stderr


def test_restore_brings_the_loop_back_and_the_issue_completes_after_a_person_checks(
        project: Project) -> None:
    n = project.file_issue("Two steps", TWO_TASKS)
    project.cycle()
    while project.tasks(n)["t1"].state != "running":
        project.cycle()
    project.cli("state", "backup")  # taken while the first task's worker runs
    (backup,) = backups.listing(Paths(project.root))
    # more events after the backup (the first task collected, reviewed and merged): the
    # anchor moves past it
    wait_for(lambda: project.cycle() and project.tasks(n)["t1"].state == "done", timeout=60,
             what="the first task to be merged")
    paths = Paths(project.root)
    garbage(paths.state_db)
    assert project.cycle().rung == "error"
    restored = project.cli("state", "restore")
    assert str(backup) in restored.stdout and "state.db.corrupt-" in restored.stdout
    # it names the issue whose branch moved past the restored record, and the way out
    branch = f"shiftctl/issue-{n}"
    assert f"#{n}: {branch} is at {git(project.root, 'rev-parse', branch)[:12]}" in \
        restored.stdout
    assert f"git update-ref refs/heads/{branch} " in restored.stdout
    verify = project.cli("audit", "verify", check=False)  # honest: events were lost
    assert verify.returncode == 1
    assert "truncated" in verify.stderr and f"restored from {backup}" in verify.stderr
    project.run()
    # The restored record is older than the branch: shiftctl cannot tell its own lost merge
    # from an agent's, so it holds the issue and says how to go on; a person does so.
    [held] = [c["body"] for c in project.issue(n)["comments"] if "shiftctl:integrity:" in c["body"]]
    put_back = re.search(r"`git (update-ref [^`]+)`", held)
    assert put_back and project.issue_state(n) != "done"
    git(project.root, *put_back.group(1).split())
    project.comment(n, "/retry")
    project.run()
    assert project.issue_state(n) == "done"
    assert {t.state for t in project.tasks(n).values()} == {"done"}
    verify = project.cli("audit", "verify")  # the loop filed the restore in the history
    assert verify.stdout.startswith("ok: intact")
    assert f"state.db was restored from {backup}" in verify.stdout and "lost" in verify.stdout
    comments = [c["body"].splitlines()[0] for c in project.issue(n)["comments"]]
    assert len(comments) == len(set(comments))  # no tracker write repeated after the restore
