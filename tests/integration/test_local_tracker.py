"""The embedded tracker: issues, comments, labels, PRs, a change cursor and real merges."""
from __future__ import annotations

from pathlib import Path

import pytest

from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.base import TrackerError
from shiftctl.admin.tracker.local import LocalTracker

from support.repos import git, make_repo


@pytest.fixture
def tracker(tmp_path: Path):
    repo = make_repo(tmp_path / "repo")
    Paths(repo).ensure()
    t = LocalTracker(repo / ".shiftctl" / "tracker.db", repo, ["alice"])
    yield t
    t.close()


def test_sync_returns_what_changed_since_the_cursor(tracker: LocalTracker) -> None:
    a = tracker.new_issue("A", "body", ["shiftctl"], "alice").number
    first = tracker.sync(None)
    assert [i.number for i in first.issues] == [a]
    again = tracker.sync(first.cursor)
    assert again.issues == [] and again.prs == [] and again.cursor == first.cursor
    c = tracker.post_comment(a, "/approve", author="alice")
    changed = tracker.sync(first.cursor)
    assert [i.number for i in changed.issues] == [a]
    assert [x.id for x in changed.issues[0].comments] == [c.id]  # only the new comment


def test_an_idle_sync_is_one_request(tracker: LocalTracker) -> None:
    tracker.new_issue("A", "", ["shiftctl"], "alice")
    cursor = tracker.sync(None).cursor
    before = tracker.requests
    tracker.sync(cursor)
    assert tracker.requests - before == 1


def test_labels_comments_and_markers(tracker: LocalTracker) -> None:
    n = tracker.new_issue("A", "", ["shiftctl"], "alice").number
    tracker.set_labels(n, add=("shiftctl:active",))
    tracker.set_labels(n, add=("shiftctl:done",), remove=("shiftctl:active",))
    assert tracker.get_issue(n).labels == ["shiftctl", "shiftctl:done"]
    tracker.post_comment(n, "<!-- shiftctl:plan:1:1 -->\nplan")
    assert tracker.find_comment(n, "<!-- shiftctl:plan:1:1 -->") is not None
    assert tracker.find_comment(n, "<!-- shiftctl:plan:1:2 -->") is None
    with pytest.raises(TrackerError):
        tracker.post_comment(999, "nope")


def test_allowed_authors(tracker: LocalTracker, tmp_path: Path) -> None:
    assert tracker.is_allowed("alice") and not tracker.is_allowed("mallory")
    assert not tracker.is_allowed("shiftctl")  # its own comments never steer it
    anyone = LocalTracker(tmp_path / "t2.db", tmp_path)
    assert anyone.is_allowed("mallory")
    anyone.close()


def test_pr_merge_is_a_real_git_merge(tracker: LocalTracker) -> None:
    repo = tracker.repo
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "f.txt").write_text("feature\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feature")
    git(repo, "checkout", "-q", "main")
    pr = tracker.open_pr(head="feature", base="main", title="F", body="b", draft=True, issue=None)
    with pytest.raises(TrackerError, match="draft"):
        tracker.merge_pr(pr.number)
    tracker.update_pr(pr.number, draft=False)
    sha = tracker.merge_pr(pr.number)
    assert git(repo, "rev-parse", "main") == sha
    assert (repo / "f.txt").read_text() == "feature\n"  # the checked-out base moved too
    assert tracker.get_pr(pr.number).state == "merged"
    assert tracker.find_pr("feature").number == pr.number
    with pytest.raises(TrackerError, match="merged"):
        tracker.merge_pr(pr.number)


def test_pr_merge_when_base_is_not_checked_out(tracker: LocalTracker) -> None:
    repo = tracker.repo
    git(repo, "branch", "base2")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "g.txt").write_text("g\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "g")
    pr = tracker.open_pr(head="feature", base="base2", title="G", body="", draft=False, issue=1)
    tracker.merge_pr(pr.number)
    assert git(repo, "show", "base2:g.txt") == "g"
    assert "feature" in git(repo, "log", "--format=%s", "-1", "base2")


def test_critical_issue_detection(tracker: LocalTracker) -> None:
    cursor = tracker.sync(None).cursor
    assert not tracker.critical_since(cursor, "shiftctl")
    tracker.new_issue("meh", "", ["shiftctl", "priority:critical"], "mallory")
    assert not tracker.critical_since(cursor, "shiftctl")
    tracker.new_issue("fire", "", ["shiftctl", "priority:critical"], "alice")
    assert tracker.critical_since(cursor, "shiftctl")
