"""The local tracker is the user's data (issue 13, item 7): deleting ``.shiftctl/`` keeps the
issues, comments and PRs; the loss of the runtime state is said by status and by the loop,
never shown as an empty world; an older ``.shiftctl/tracker.db`` is adopted, not lost."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.local import LocalTracker

from support.project import Project

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def test_deleting_the_runtime_directory_keeps_the_issues_and_is_said(project: Project) -> None:
    n = project.file_issue("Keep me", ONE)
    project.comment(n, "a person's note")
    project.run()
    assert project.issue_state(n) == "done" and len(project.prs()) == 1
    shutil.rmtree(project.root / ".shiftctl")

    listed = project.cli("issue", "list").stdout
    assert f"#{n}" in listed and "Keep me" in listed
    assert any(c["body"] == "a person's note" for c in project.issue(n)["comments"])
    assert len(project.prs()) == 1
    status = project.cli("status").stdout
    assert "PROBLEM: state lost:" in status and "is missing, but its log had reached" in status
    assert "No issues yet" in status  # what the state shows, with why right above it

    loop = project.cli("run", "--until-idle", "--max-cycles", "3", check=False)
    assert "state.db was missing and a new one was started" in loop.stderr, loop.stderr
    status = project.cli("status").stdout
    assert "PROBLEM: state lost: state.db was missing" in status
    project.cli("audit", "accept")
    assert "state lost" not in project.cli("status").stdout


def test_an_older_runtime_tracker_is_adopted_once_and_kept_aside(project: Project) -> None:
    paths = Paths(project.root)
    paths.runtime.mkdir(exist_ok=True)
    old = LocalTracker(paths.legacy_tracker_db, project.root, ["alice"])
    try:
        number = old.new_issue("Filed before the move", "body", ["shiftctl"], "alice").number
    finally:
        old.close()
    assert not paths.tracker_db.exists()

    shown = project.cli_json("issue", "show", str(number))
    assert shown["title"] == "Filed before the move"
    assert paths.tracker_db.exists() and not paths.legacy_tracker_db.exists()
    assert (paths.runtime / "tracker.db.moved").exists()
    project.cli("issue", "new", "After the move", "--label", "shiftctl")
    assert sorted(i["title"] for i in project.cli_json("issue", "list")) == [
        "After the move", "Filed before the move"]


def test_a_moved_repository_takes_its_issues_and_backups_with_it(project: Project) -> None:
    n = project.file_issue("Keep me", ONE)
    project.comment(n, "a person's note")
    project.run()
    project.cli("state", "backup")
    old = Paths(project.root)
    old_tracker, old_backups = old.tracker_dir, old.backups
    moved = Project(Path(shutil.move(project.root, project.root.parent / "moved")))

    listed = moved.cli("issue", "list").stdout
    assert f"#{n}" in listed and "Keep me" in listed
    assert any(c["body"] == "a person's note" for c in moved.issue(n)["comments"])
    assert len(moved.prs()) == 1
    assert not old_tracker.exists() and not old_backups.exists()
    new = Paths(moved.root)
    assert json.loads((new.tracker_dir / "origin.json").read_text())["how"] == "moved"
    assert len(list(new.backups.iterdir())) == 1  # `state restore` finds them here
    later = moved.file_issue("After the move", ONE)
    assert later > n + 1  # the numbering goes on (the PR took n + 1)
    moved.run()
    assert moved.issue_state(later) == "done"
    assert "PROBLEM" not in moved.cli("status").stdout


def test_a_copied_repository_gets_its_own_copy_of_the_issues(project: Project) -> None:
    n = project.file_issue("Keep me", ONE)
    project.run()
    copy = Project(Path(shutil.copytree(project.root, project.root.parent / "copy",
                                        symlinks=True)))
    assert f"#{n}" in copy.cli("issue", "list").stdout
    copy.comment(n, "said in the copy")
    project.comment(n, "said in the original")
    said = {c["body"] for c in copy.issue(n)["comments"]}
    assert "said in the copy" in said and "said in the original" not in said
    said = {c["body"] for c in project.issue(n)["comments"]}
    assert "said in the original" in said and "said in the copy" not in said
    origin = json.loads((Paths(copy.root).tracker_dir / "origin.json").read_text())
    assert origin["how"] == "copied" and origin["from"] == str(project.root.resolve())


def test_a_pointer_that_names_no_tracker_starts_an_empty_one(project: Project) -> None:
    paths = Paths(project.root)
    paths.runtime.mkdir(exist_ok=True)
    paths.tracker_pointer.write_text(json.dumps({"id": "../../etc", "root": "/nowhere"}))
    assert project.cli_json("issue", "list") == []
    assert json.loads(paths.tracker_pointer.read_text())["id"] == paths.repo_id


def test_the_sandbox_is_told_to_hide_the_tracker(project: Project) -> None:
    from shiftctl.admin.profiles import agent_spec
    config = project.config
    spec = agent_spec(config, config.agents.profiles[config.agents.default])
    assert str(Paths(project.root).tracker_dir) in spec.sandbox_hide
