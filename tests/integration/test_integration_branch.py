"""The integration branch against its record, with real git: a cycle that died between
recording a merge and moving the ref is caught up; a deleted branch is rebuilt from the
recorded head, or, when that commit is gone too, by merging the recorded task commits again;
a moved branch, or one that cannot be rebuilt, is held for a person."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.snapshot import observe
from shiftctl.admin.paths import Paths
from shiftctl.admin.review import integration
from shiftctl.memory.store import Store

from support.project import Project
from support.repos import git

TWO = "- [ ] a\n  ```sh\n  echo a > a.txt\n  ```\n- [ ] b\n  ```sh\n  echo b > b.txt\n  ```\n"
BRANCH = "refs/heads/shiftctl/issue-1"


@contextmanager
def context(p: Project) -> Iterator[CycleContext]:
    """What a cycle's handlers get (no cycle runs meanwhile: this is the only writer)."""
    config, paths = p.config, Paths(p.root)
    store = Store.open(paths.state_db)
    tracker = p.tracker()
    try:
        yield CycleContext(config, paths, store, tracker, observe(config, paths, store))
    finally:
        tracker.close()
        store.close()


@pytest.fixture
def done(project: Project) -> Project:
    assert project.file_issue("Two", TWO) == 1
    project.run()
    assert project.issue_state(1) == "done"
    return project


def exists(p: Project, sha: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=p.root,
                          capture_output=True).returncode == 0


def forget(p: Project, *refs: str) -> None:
    """Delete refs and the merge worktree, then let git collect what nothing reaches."""
    for ref in refs:
        git(p.root, "update-ref", "-d", ref)
    git(p.root, "worktree", "remove", "--force", str(p.root / ".shiftctl/worktrees/issue-1"))
    git(p.root, "reflog", "expire", "--expire=now", "--expire-unreachable=now", "--all")
    git(p.root, "gc", "-q", "--prune=now")


def kinds(rt: CycleContext) -> list[str]:
    return [e["kind"] for e in rt.store.iter_events() if e["issue"] == 1]


def test_a_crash_between_recording_and_moving_the_ref_is_caught_up(done: Project) -> None:
    with context(done) as rt:
        issue = rt.issue(1)
        last = rt.store.merges(1)[-1]
        git(done.root, "update-ref", BRANCH, last.before)  # as if the ref never moved
        assert integration.trusted_head(rt, issue) == issue.integration_head == last.merge
        assert git(done.root, "rev-parse", BRANCH) == last.merge
        assert "integration.caught_up" in kinds(rt) and not issue.integration_hold


def test_a_branch_moved_anywhere_else_is_held(done: Project) -> None:
    with context(done) as rt:
        issue = rt.issue(1)
        first = rt.store.merges(1)[0].before  # an older commit: not the recorded head
        git(done.root, "update-ref", BRANCH, first)
        assert integration.trusted_head(rt, issue) is None
        assert rt.issue(1).integration_hold and rt.issue(1).state == "needs_human"
        assert integration.release_hold(rt, rt.issue(1))  # still there: stays held
        git(done.root, "update-ref", BRANCH, issue.integration_head)
        assert integration.release_hold(rt, rt.issue(1)) is None
        assert integration.trusted_head(rt, rt.issue(1)) == issue.integration_head


def test_a_deleted_branch_whose_commit_is_gone_is_rebuilt_from_the_task_commits(
        done: Project) -> None:
    p = done
    with context(p) as rt:
        issue = rt.issue(1)
        recorded = issue.integration_head
        tree = git(p.root, "rev-parse", f"{recorded}^{{tree}}")
        heads = [m.head for m in rt.store.merges(1)]
    forget(p, BRANCH)
    assert not exists(p, recorded) and all(exists(p, h) for h in heads)
    with context(p) as rt:
        head = integration.trusted_head(rt, rt.issue(1))
        assert head is not None and head != recorded
        assert git(p.root, "rev-parse", BRANCH) == head == rt.issue(1).integration_head
        assert git(p.root, "rev-parse", f"{head}^{{tree}}") == tree  # the same content
        merges = rt.store.merges(1)
        assert [m.head for m in merges] == heads and merges[-1].merge == head
        assert merges[1].before == merges[0].merge
        rebuilt = [e for e in rt.store.iter_events() if e["kind"] == "integration.rebuilt"]
        assert "merging the 2 recorded task commit(s)" in rebuilt[0]["data"]["how"]
        queued = [r["body"] for r in rt.store.pending_writes()
                  if "shiftctl:rebuilt:1:" in r["body"]]
        assert len(queued) == 1 and "was deleted" in queued[0]


def test_a_deleted_branch_that_cannot_be_rebuilt_is_held(done: Project) -> None:
    p = done
    forget(p, BRANCH, "refs/heads/shiftctl/1-t1", "refs/heads/shiftctl/1-t2")
    with context(p) as rt:
        assert integration.trusted_head(rt, rt.issue(1)) is None
        issue = rt.issue(1)
        assert issue.state == "needs_human" and "gone" in (issue.integration_hold or "")
        queued = [r["body"] for r in rt.store.pending_writes()
                  if "shiftctl:integrity:1:" in r["body"]]
        assert len(queued) == 1 and "cannot rebuild" in queued[0] and "/replan" in queued[0]
