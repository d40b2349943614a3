"""Real ``git push`` failures, told apart: a remote that refuses (``PushRejected``, counted
and parked) from one that cannot be reached (a plain ``TrackerError``, waited out); and a push
sends the commit it is given, never whatever the branch points at by then."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from shiftctl.admin.tracker import PushRejected, TrackerError
from shiftctl.admin.tracker.github.tracker import GithubTracker

from github_fake import bare as bare_repo
from github_fake.git_http import GitHttp
from support import loopback
from support.github import GithubWorld, github_tracker
from support.repos import git


def commit_on(t: GithubTracker, branch: str, name: str) -> str:
    git(t.root, "checkout", "-q", "-B", branch, "main")
    (t.root / name).write_text(name + "\n")
    git(t.root, "add", "-A")
    git(t.root, "commit", "-qm", name)
    git(t.root, "checkout", "-q", "main")
    return git(t.root, "rev-parse", branch)


@pytest.fixture
def tracker(github: GithubWorld) -> Iterator[GithubTracker]:
    t = github_tracker(github)
    yield t
    t.close()


def push_error(t: GithubTracker, branch: str, sha: str | None = None) -> TrackerError:
    with pytest.raises(TrackerError) as err:
        t.push(t.root, branch, sha)
    return err.value


def test_a_non_fast_forward_is_refused(tracker: GithubTracker, github: GithubWorld) -> None:
    t = tracker
    commit_on(t, "feature", "one.txt")
    t.push(t.root, "feature")
    git(t.root, "branch", "-f", "feature", "main")  # rewritten history
    commit_on(t, "feature", "two.txt")
    err = push_error(t, "feature")
    assert isinstance(err, PushRejected) and "rejected" in str(err)


def test_a_declined_push_and_a_missing_permission_are_refused(
        tracker: GithubTracker, github: GithubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    t = tracker
    server = GitHttp(github.fake, github.bare.parent).start()
    try:
        git(t.root, "remote", "set-url", "origin", server.url(github.bare.name))
        hook = github.bare / "hooks" / "pre-receive"  # a protected branch, server side
        hook.write_text("#!/bin/sh\necho 'protected branch: pushes are not allowed' >&2\nexit 1\n")
        hook.chmod(0o755)
        commit_on(t, "feature", "one.txt")
        err = push_error(t, "feature")
        assert isinstance(err, PushRejected) and "protected branch" in str(err)
        hook.unlink()
        github.world.add_user("shiftbot", "read")  # the bot lost write access: a 403
        err = push_error(t, "feature")
        assert isinstance(err, PushRejected) and "403" in str(err)
    finally:
        server.stop()
    assert bare_repo.rev(github.bare, "feature") is None


def test_an_unreachable_or_failing_server_is_an_outage(tracker: GithubTracker) -> None:
    t = tracker
    commit_on(t, "feature", "one.txt")
    git(t.root, "remote", "set-url", "origin", "http://127.0.0.1:9/x.git")  # refused
    err = push_error(t, "feature")
    assert not isinstance(err, PushRejected) and "Failed to connect" in str(err)

    def unavailable(h: BaseHTTPRequestHandler) -> None:
        h.send_response(503)
        h.send_header("Content-Length", "0")
        h.end_headers()
    server = loopback.start(unavailable)
    try:
        port = server.server_address[1]
        git(t.root, "remote", "set-url", "origin", f"http://127.0.0.1:{port}/x.git")
        err = push_error(t, "feature")
        assert not isinstance(err, PushRejected) and "503" in str(err)
    finally:
        loopback.stop(server)


def test_a_push_sends_the_commit_it_is_given_not_where_the_branch_moved(
        tracker: GithubTracker, github: GithubWorld) -> None:
    t = tracker
    reviewed = commit_on(t, "shiftctl/issue-1", "reviewed.txt")
    moved = commit_on(t, "shiftctl/issue-1", "planted.txt")  # the ref moved after the check
    assert git(t.root, "rev-parse", "shiftctl/issue-1") == moved
    t.push(t.root, "shiftctl/issue-1", reviewed)
    assert bare_repo.rev(github.bare, "shiftctl/issue-1") == reviewed
    gone = subprocess.run(["git", "cat-file", "-e", moved], cwd=github.bare,
                          capture_output=True)
    assert gone.returncode != 0  # the moved-to commit never reached the remote


def test_a_missing_remote_is_refused_not_waited_for(tracker: GithubTracker) -> None:
    git(tracker.root, "remote", "remove", "origin")
    err = push_error(tracker, "main")
    assert isinstance(err, PushRejected) and "origin" in str(err)
