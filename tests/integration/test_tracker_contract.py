"""One contract, two trackers: what the cycle relies on holds for local and for GitHub."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker import Tracker, TrackerError, markers
from shiftctl.admin.tracker.local import LocalTracker

from support.github import BOT, GithubWorld, github_tracker
from support.repos import git, make_repo


@dataclass
class Harness:
    """A tracker under test and what people do to its issues and pull requests."""
    tracker: Tracker
    root: Path
    file: Callable[..., int]
    comment: Callable[[int, str, str], Any]
    merge_pr: Callable[[int], Any]
    close_pr: Callable[[int], Any]
    bot: str


def _local(tmp_path: Path) -> Harness:
    repo = make_repo(tmp_path / "repo")
    Paths(repo).ensure()
    t = LocalTracker(repo / ".shiftctl" / "tracker.db", repo, ["alice"])
    return Harness(t, repo,
                   lambda title, body="", labels=("shiftctl",), author="alice":
                       t.new_issue(title, body, list(labels), author).number,
                   lambda n, text, author: t.post_comment(n, text, author=author),
                   t.merge_pr, t.close_pr, "shiftctl")


def _github(github: GithubWorld, tmp_path: Path) -> Harness:
    t = github_tracker(github)
    w = github.world
    return Harness(t, t.root,
                   lambda title, body="", labels=("shiftctl",), author="alice":
                       w.file_issue(title, body, list(labels), author),
                   w.comment,
                   w.merge_pull, lambda n: w.set_state(n, "closed", "alice"), BOT)


@pytest.fixture(params=["local", "github"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "local":
        harness = _local(tmp_path)
    else:
        harness = _github(request.getfixturevalue("github"), tmp_path)
    yield harness
    harness.tracker.close()


def feature_branch(h: Harness, name: str = "feature") -> str:
    git(h.root, "checkout", "-q", "-b", name)
    (h.root / f"{name}.txt").write_text(name + "\n")
    git(h.root, "add", "-A")
    git(h.root, "commit", "-qm", name)
    git(h.root, "checkout", "-q", "main")
    h.tracker.push(h.root, name)
    return name


def test_first_sync_lists_open_issues_then_only_what_changed(h: Harness) -> None:
    a = h.file("A", "body")
    first = h.tracker.sync(None)
    assert [i.number for i in first.issues] == [a]
    assert first.issues[0].author == "alice" and first.issues[0].labels == ["shiftctl"]
    # a tracker may deliver an issue again (GitHub re-lists a short overlap window once;
    # the cycle applies changes idempotently), but once settled, nothing new is nothing
    again = h.tracker.sync(h.tracker.sync(first.cursor).cursor)
    assert again.issues == [] and again.prs == []
    c = h.comment(a, "/approve", "alice")
    changed = h.tracker.sync(again.cursor)
    assert [i.number for i in changed.issues] == [a]
    assert c.id in [x.id for x in changed.issues[0].comments]
    assert all(x.body == "/approve" for x in changed.issues[0].comments)


def test_an_idle_sync_is_one_request(h: Harness) -> None:
    h.file("A")
    cursor = h.tracker.sync(None).cursor
    cursor = h.tracker.sync(cursor).cursor
    before = h.tracker.requests
    for _ in range(3):
        cursor = h.tracker.sync(cursor).cursor
    assert h.tracker.requests - before == 3


def test_labels_are_set_idempotently(h: Harness) -> None:
    n = h.file("A")
    h.tracker.set_labels(n, add=("shiftctl:active",))
    h.tracker.set_labels(n, add=("shiftctl:done",), remove=("shiftctl:active", "shiftctl:planned"))
    assert h.tracker.get_issue(n).labels == ["shiftctl", "shiftctl:done"]
    before = h.tracker.requests
    h.tracker.set_labels(n, add=("shiftctl:done",), remove=("shiftctl:active",))
    assert h.tracker.requests - before <= 1  # nothing to change: one look, no write
    h.tracker.set_labels(n, remove=("shiftctl:done",))
    assert h.tracker.get_issue(n).labels == ["shiftctl"]


def test_comments_carry_markers_and_are_found_on_the_tracker(h: Harness) -> None:
    n = h.file("A")
    mark = markers.marker("plan", n, 1)
    assert h.tracker.find_comment(n, mark) is None
    posted = h.tracker.post_comment(n, f"{mark}\nthe plan")
    assert posted.author == h.bot
    found = h.tracker.find_comment(n, mark)
    assert found is not None and found.id == posted.id
    h.tracker.edit_comment(n, posted.id, f"{mark}\nthe plan, edited")
    assert h.tracker.find_comment(n, mark).body.endswith("edited")  # type: ignore[union-attr]
    assert h.tracker.find_comment(n, markers.marker("plan", n, 2)) is None
    with pytest.raises(TrackerError):
        h.tracker.post_comment(999, "nope")


def test_who_may_steer(h: Harness) -> None:
    assert h.tracker.is_allowed("alice")
    assert not h.tracker.is_allowed("mallory")
    assert not h.tracker.is_allowed(h.bot)  # its own comments never steer it


def test_closing_an_issue_shows_in_the_next_sync(h: Harness) -> None:
    n = h.file("A")
    cursor = h.tracker.sync(None).cursor
    h.tracker.close_issue(n)
    assert h.tracker.get_issue(n).state == "closed"
    assert [i.state for i in h.tracker.sync(cursor).issues if i.number == n] == ["closed"]


def test_pull_request_from_draft_to_ready_to_merged(h: Harness) -> None:
    n = h.file("A")
    head = feature_branch(h)
    body = f"{markers.marker('pr', n, head)}\nCloses #{n}."
    pr = h.tracker.open_pr(head=head, base="main", title="F", body=body, draft=True, issue=n)
    assert (pr.head, pr.base, pr.state, pr.draft) == (head, "main", "open", True)
    assert h.tracker.find_pr(head).number == pr.number  # type: ignore[union-attr]
    assert h.tracker.find_pr("no-such-branch") is None
    h.tracker.update_pr(pr.number, body=body + "\nmore")
    h.tracker.update_pr(pr.number, draft=False)
    got = h.tracker.get_pr(pr.number)
    assert got.body.endswith("more") and got.draft is False and got.issue == n
    cursor = h.tracker.sync(None).cursor
    h.merge_pr(pr.number)
    prs = h.tracker.sync(cursor).prs
    assert [(p.number, p.state) for p in prs] == [(pr.number, "merged")]
    assert prs[0].issue == n and prs[0].head == head
    assert h.tracker.find_pr(head).state == "merged"  # type: ignore[union-attr]


def test_a_pull_request_closed_unmerged_shows_as_closed(h: Harness) -> None:
    n = h.file("A")
    head = feature_branch(h, "other")
    pr = h.tracker.open_pr(head=head, base="main", title="O",
                           body=markers.marker("pr", n, head), draft=True, issue=n)
    cursor = h.tracker.sync(None).cursor
    h.close_pr(pr.number)
    assert [(p.number, p.state) for p in h.tracker.sync(cursor).prs] == [(pr.number, "closed")]


def test_critical_issues_wake_the_loop_only_from_allowed_authors(h: Harness) -> None:
    cursor = h.tracker.sync(None).cursor
    assert not h.tracker.critical_since(cursor, "shiftctl")
    h.file("meh", labels=("shiftctl", "priority:critical"), author="mallory")
    assert not h.tracker.critical_since(cursor, "shiftctl")
    h.file("fire", labels=("shiftctl", "priority:critical"), author="alice")
    assert h.tracker.critical_since(cursor, "shiftctl")
