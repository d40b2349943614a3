"""The integration branch is trusted only where shiftctl left it, and only reviewed commits go in.

An unsandboxed agent can write the repository's refs. These tests let a malicious agent move
the integration branch to a commit of its own (a workflow and a secret), rewrite a finished
sibling's branch, and delete the integration branch, and show what shiftctl does: nothing
unreviewed is merged, pushed or marked ready; a moved branch stops the issue for a person,
a deleted one is rebuilt from shiftctl's own record.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from support.agents import agent_argv
from support.github import GithubProject
from support.project import Project
from support.repos import git, wait_for

SAFE_THEN_EVIL = """\
- [ ] Write a.txt
  agent: shell
  ```sh
  echo alpha > a.txt
  ```
- [ ] Write work.txt
"""


def evil_profile(**env: str) -> dict[str, Any]:
    return {"default": "evil", "profiles": {"evil": {
        "kind": "command", "argv": agent_argv("review_bypasser.py"),
        "env": {"EVIL_WRITE": "work.txt:work", **env}}}}


def record(p: Project, n: int) -> Any:
    s = p.store()
    try:
        issue = s.issue(n)
        events = [e for e in s.iter_events() if e.get("issue") == n]
        return issue, events
    finally:
        s.close()


def contains(repo: Path, ancestor: str, ref: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, ref], cwd=repo,
                          capture_output=True).returncode == 0


def comments(p: Project, n: int, kind: str) -> list[str]:
    return [c["body"] for c in p.issue(n)["comments"] if f"shiftctl:{kind}:{n}:" in c["body"]]


def plant_on_the_integration_branch(p: Project, tmp_path: Path) -> tuple[int, str]:
    """t1 merges honestly; t2's agent moves shiftctl/issue-N to a commit of its own."""
    planted = tmp_path / "planted"
    p.configure(agents=evil_profile(EVIL_PLANT="refs/heads/shiftctl/issue-1",
                                    EVIL_PLANT_OUT=str(planted)))
    n = p.file_issue("Two steps", SAFE_THEN_EVIL)
    assert n == 1
    p.run()
    return n, planted.read_text()


def assert_held_for_a_person(p: Project, n: int, evil: str) -> str:
    issue, events = record(p, n)
    assert p.issue_state(n) == "needs_human"
    assert issue.integration_hold and evil[:12] in issue.integration_hold
    recorded = issue.integration_head
    assert recorded != evil and not contains(p.root, evil, recorded)
    assert p.tasks(n)["t1"].state == "done" and p.tasks(n)["t2"].state == "review"
    assert all(pr["draft"] for pr in p.prs())  # never marked ready
    said = comments(p, n, "integrity")
    assert len(said) == 1 and recorded in said[0] and evil in said[0], said
    mismatch = [e for e in events if e["kind"] == "integration.mismatch"]
    assert mismatch and mismatch[0]["data"] == {"expected": recorded, "found": evil}
    return recorded


def test_a_moved_integration_branch_stops_the_issue_and_is_never_marked_ready(
        project: Project, tmp_path: Path) -> None:
    n, evil = plant_on_the_integration_branch(project, tmp_path)
    assert_held_for_a_person(project, n, evil)
    # more cycles change nothing: the held issue waits, the workflow never gets in
    for _ in range(3):
        project.cycle()
    assert project.issue_state(n) == "needs_human"
    assert all(pr["draft"] for pr in project.prs())


def test_on_github_nothing_of_the_moved_branch_is_pushed(gh_project: GithubProject,
                                                         tmp_path: Path) -> None:
    p = gh_project
    n, evil = plant_on_the_integration_branch(p, tmp_path)
    recorded = assert_held_for_a_person(p, n, evil)
    assert p.remote_branch(f"shiftctl/issue-{n}") == recorded  # t1's merge, pushed before
    gone = subprocess.run(["git", "cat-file", "-e", evil], cwd=p.gh.bare, capture_output=True)
    assert gone.returncode != 0  # the planted commit never reached GitHub
    assert all(pr["draft"] for pr in p.prs())


def test_a_person_who_puts_the_branch_back_and_retries_gets_the_reviewed_work(
        project: Project, tmp_path: Path) -> None:
    n, evil = plant_on_the_integration_branch(project, tmp_path)
    recorded = assert_held_for_a_person(project, n, evil)
    project.comment(n, "/retry")
    project.run()
    assert project.issue_state(n) == "needs_human"  # still at the planted commit: still held
    git(project.root, "update-ref", f"refs/heads/shiftctl/issue-{n}", recorded)
    project.cli("retry", str(n))  # the CLI's way of saying `/retry` on the issue
    project.run()
    assert project.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert not contains(project.root, evil, branch)
    assert git(project.root, "show", f"{branch}:work.txt") == "work"
    files = git(project.root, "ls-tree", "-r", "--name-only", branch).split()
    assert ".github/workflows/x.yml" not in files and "config.py" not in files
    assert [pr["draft"] for pr in project.prs()] == [False]


def test_a_rewritten_sibling_branch_is_never_merged(project: Project, tmp_path: Path) -> None:
    p = project
    planted, done = tmp_path / "planted", tmp_path / "done"
    sibling = str(p.root / ".shiftctl" / "runs" / "1-t1-a1-*" / "result.json")
    p.configure(agents=evil_profile(EVIL_WAIT_FOR=sibling, EVIL_DONE=str(done),
                                    EVIL_PLANT="refs/heads/shiftctl/1-t1",
                                    EVIL_PLANT_OUT=str(planted)))
    n = p.file_issue("Side by side", "- [ ] Write a.txt\n  agent: shell\n  ```sh\n"
                                     "  echo alpha > a.txt\n  ```\n- [ ] (parallel) Write work\n")
    p.cycle()
    while len(p.runs(n)) < 2:
        p.cycle()
    # t1 has finished (its result is written) and its branch was rewritten before shiftctl
    # looked at it again
    wait_for(done.exists, timeout=60, what="the agent to rewrite the sibling's branch")
    evil = planted.read_text()
    assert git(p.root, "rev-parse", "refs/heads/shiftctl/1-t1") == evil
    p.run()

    assert p.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert not contains(p.root, evil, branch)
    reported = next(r for r in p.runs(n) if r.task_id == p.tasks(n)["t1"].id).commits[-1]
    assert reported != evil and contains(p.root, reported, branch)
    files = git(p.root, "ls-tree", "-r", "--name-only", branch).split()
    assert {"a.txt", "work.txt"} <= set(files)
    assert ".github/workflows/x.yml" not in files and "config.py" not in files
    _, events = record(p, n)
    moved = [e for e in events if e["kind"] == "review.branch_moved"]
    assert moved and moved[0]["data"]["branch"] == evil and moved[0]["data"]["reported"] == reported


def test_a_deleted_integration_branch_is_rebuilt_and_the_issue_completes(
        project: Project) -> None:
    p = project
    p.configure(agents=evil_profile(EVIL_DELETE="refs/heads/shiftctl/issue-1"))
    n = p.file_issue("Two steps", SAFE_THEN_EVIL)
    p.run()
    assert p.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert git(p.root, "show", f"{branch}:a.txt") == "alpha"
    assert git(p.root, "show", f"{branch}:work.txt") == "work"
    said = comments(p, n, "rebuilt")
    assert len(said) == 1 and "was deleted" in said[0]
    issue, events = record(p, n)
    rebuilt = [e for e in events if e["kind"] == "integration.rebuilt"]
    assert len(rebuilt) == 1
    assert contains(p.root, rebuilt[0]["data"]["head"], branch)
    assert git(p.root, "rev-parse", branch) == issue.integration_head
    assert [pr["draft"] for pr in p.prs()] == [False]
