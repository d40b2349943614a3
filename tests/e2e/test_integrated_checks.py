"""Two tasks that pass alone can break together: the checks run on the integrated branch.

One task renames a function; a parallel one adds a test that uses the old name. Each passes
the configured checks in its own worktree; merged, the branch fails them. The PR must never
be marked ready (nor, on GitHub, the branch pushed) while its head fails: the issue ends with
a PR whose branch passes (a fix task made it so) or with a person asked.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from support.agents import agent_argv
from support.github import GithubProject
from support.project import Project
from support.repos import git

CHECK = 'for f in test_*.py; do python3 "$f" || exit 1; done'
BREAK_TOGETHER = """\
- [ ] Rename old_name to new_name
  agent: shell
  ```sh
  sed -i s/old_name/new_name/g lib.py test_lib.py
  ```
- [ ] (parallel) Test old_name once more
  agent: shell
  ```sh
  printf 'from lib import old_name\\nassert old_name() + 1 == 2\\n' > test_more.py
  ```
"""
FIXED = "from lib import new_name\nassert new_name() + 1 == 2"


def setup(p: Project, *, can_fix: bool) -> int:
    (p.root / "lib.py").write_text("def old_name():\n    return 1\n")
    (p.root / "test_lib.py").write_text("from lib import old_name\nassert old_name() == 1\n")
    git(p.root, "add", "-A")
    git(p.root, "commit", "-qm", "a library with a test")
    env = {"AGENT_WRITE": "notes.txt:looked at it"}
    if can_fix:  # the fix task's prompt says what failed; this agent knows the fix
        env["AGENT_WRITE_IF"] = f"fail on the integrated branch=>test_more.py:{FIXED}"
    p.configure(checks=[{"name": "tests", "run": CHECK, "timeout": 60}],
                workers={"max_attempts": 2},
                agents={"default": "fixer", "profiles": {"fixer": {
                    "kind": "command", "argv": agent_argv("scripted.py"), "env": env}}})
    return p.file_issue("Rename and test", BREAK_TOGETHER)


def passes(repo: Path, sha: str, tmp: Path) -> bool:
    """Run the configured check on a fresh checkout of ``sha``."""
    wt = tmp / f"check-{sha[:12]}"
    if not wt.exists():
        git(repo, "worktree", "add", "-q", "--detach", str(wt), sha)
    return subprocess.run(["bash", "-c", CHECK], cwd=wt, capture_output=True).returncode == 0


def drive(p: Project, n: int, tmp: Path, remote: GithubProject | None = None,
          limit: float = 150, pushed: list[str] | None = None) -> list[str]:
    """Cycles until nothing can move; after each one, whatever is ready (or pushed) must
    pass the checks. Returns the integration heads seen (and fills ``pushed``)."""
    deadline = time.monotonic() + limit
    heads: list[str] = []
    pushed = [] if pushed is None else pushed
    branch = f"shiftctl/issue-{n}"
    while time.monotonic() < deadline:
        result = p.cycle()
        head = subprocess.run(["git", "rev-parse", "-q", "--verify", branch], cwd=p.root,
                              capture_output=True, text=True).stdout.strip()
        if head and head not in heads:
            heads.append(head)
        for pr in p.prs():
            if not pr["draft"]:
                assert passes(p.root, head, tmp), f"PR #{pr['number']} ready at a failing head"
        if remote is not None:
            there = remote.remote_branch(branch)
            assert there is None or passes(p.root, there, tmp), "pushed a failing head"
            if there and there not in pushed:
                pushed.append(there)
        if result.rung == "sleep" and not result.progressable:
            return heads
        if result.rung == "sleep":
            time.sleep(0.1)
    raise AssertionError("the issue did not settle in time")


def verify_runs(p: Project, n: int) -> list:
    return [r for r in p.runs(n) if r.kind == "verify"]


def test_a_fix_task_makes_the_integrated_branch_pass_before_the_pr_is_ready(
        project: Project, tmp_path: Path) -> None:
    p = project
    n = setup(p, can_fix=True)
    heads = drive(p, n, tmp_path)

    assert p.issue_state(n) == "done"
    tasks = p.tasks(n)
    assert {k: t.state for k, t in tasks.items()} == {"t1": "done", "t2": "done",
                                                      "fix1": "done"}
    assert "cannot import name 'old_name'" in tasks["fix1"].body  # the failing output
    assert "t1, t2" in tasks["fix1"].body and tasks["fix1"].depends_on == []
    runs = verify_runs(p, n)
    assert [r.verdict for r in runs] == ["fail", "pass"]
    failing_head = runs[0].subject
    assert not passes(p.root, failing_head, tmp_path)  # the merged pair really failed
    head = git(p.root, "rev-parse", f"shiftctl/issue-{n}")
    assert runs[1].subject == head and passes(p.root, head, tmp_path)
    assert failing_head in heads and heads[-1] == head
    [pr] = p.prs()
    assert pr["draft"] is False
    assert f"`{head}`" in pr["body"] and "check `tests`: passed in " in pr["body"]
    said = [c["body"] for c in p.issue(n)["comments"]
            if f"shiftctl:verify_failed:{n}:" in c["body"]]
    assert len(said) == 1 and "fix1" in said[0] and failing_head in said[0]


def test_without_a_fix_the_issue_goes_to_a_person_and_no_pr_is_ever_ready(
        project: Project, tmp_path: Path) -> None:
    p = project
    n = setup(p, can_fix=False)
    drive(p, n, tmp_path)

    assert p.issue_state(n) == "needs_human"
    tasks = p.tasks(n)
    assert tasks["t1"].state == "done" and tasks["t2"].state == "done"
    assert tasks["fix1"].state == "needs_human"  # its own checks kept failing
    assert all(pr["draft"] for pr in p.prs())  # with checks, nothing is published unverified
    assert [r.verdict for r in verify_runs(p, n)] == ["fail"]
    failed = [c["body"] for c in p.issue(n)["comments"] if f"shiftctl:failed:{n}:" in c["body"]]
    assert failed and "old_name" in failed[0]


def test_on_github_the_branch_is_pushed_only_once_its_head_passes(
        gh_project: GithubProject, tmp_path: Path) -> None:
    p = gh_project
    n = setup(p, can_fix=True)
    seen: list[str] = []
    heads = drive(p, n, tmp_path, remote=p, pushed=seen)

    assert p.issue_state(n) == "done"
    runs = verify_runs(p, n)
    assert [r.verdict for r in runs] == ["fail", "pass"]
    assert runs[0].subject in heads  # the failing head existed, and was never pushed:
    pushed = p.remote_branch(f"shiftctl/issue-{n}")
    assert seen == [pushed] == [runs[-1].subject]
    [pr] = p.prs()
    assert pr["draft"] is False and f"`{pushed}`" in pr["body"]


def test_checks_that_keep_failing_on_the_integrated_branch_go_to_a_person(
        project: Project, tmp_path: Path) -> None:
    p = project
    # passes in every task's worktree, fails on every checkout of the integrated branch
    flaky = 'case "$PWD" in *verify*) echo "FAILS-WHEN-INTEGRATED"; exit 1;; esac'
    p.configure(checks=[{"name": "odd", "run": flaky, "timeout": 60}],
                workers={"max_attempts": 2},
                agents={"default": "writer", "profiles": {"writer": {
                    "kind": "command", "argv": agent_argv("scripted.py"),
                    "env": {"AGENT_WRITE": "{task}.txt:x"}}}})
    n = p.file_issue("Anything", "- [ ] One\n")
    drive(p, n, tmp_path)

    assert p.issue_state(n) == "needs_human"
    assert [r.verdict for r in verify_runs(p, n)] == ["fail", "fail"]  # bounded
    assert {k: t.state for k, t in p.tasks(n).items()} == {"t1": "done", "fix1": "done"}
    assert all(pr["draft"] for pr in p.prs())
    said = [c["body"] for c in p.issue(n)["comments"]
            if f"shiftctl:verify_failed:{n}:" in c["body"]]
    assert len(said) == 2 and "FAILS-WHEN-INTEGRATED" in said[-1] and "/retry" in said[-1]

    p.comment(n, "/retry")  # a person looked at it: the checks run again
    drive(p, n, tmp_path)
    assert p.issue_state(n) == "needs_human"
    assert [r.verdict for r in verify_runs(p, n)] == ["fail", "fail", "fail"]
    assert "fix2" in p.tasks(n)
