"""The worker's ``verify`` mode: the configured checks, and nothing else, on a detached checkout
of exactly the commit the admin names (never a branch), reported like a task's checks; the
checkout is removed after and no ref moves."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shiftctl.system import sandbox
from shiftctl.worker.spec import AgentSpec, CheckSpec, Spec, TaskSpec

from support.repos import git, make_repo

needs_bwrap = pytest.mark.skipif(
    sandbox.probe() is not None and os.environ.get("SHIFTCTL_REQUIRE_BWRAP") != "1",
    reason=f"bwrap cannot run here: {sandbox.probe()}")


def commit(repo: Path, name: str, text: str = "x") -> str:
    (repo / name).write_text(text + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", name)
    return git(repo, "rev-parse", "HEAD")


def verify(tmp_path: Path, repo: Path, sha: str, checks: list[tuple[str, str]],
           box: str = "none", name: str = "v1") -> dict[str, Any]:
    run_dir = tmp_path / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "prompt.md").write_text("checks\n")
    spec = Spec(run_id=name, run_dir=str(run_dir), repo=str(repo),
                worktree=str(repo / ".shiftctl" / "worktrees" / f"read-{name}"), branch="",
                base_ref="", base_sha=sha, task=TaskSpec(issue=1, key="verify", title="checks"),
                agent=AgentSpec(profile="p", kind="command", sandbox=box),
                prompt_file=str(run_dir / "prompt.md"),
                checks=[CheckSpec(n, run, 30) for n, run in checks], heartbeat_s=0.2,
                mode="verify")
    (run_dir / "spec.json").write_text(json.dumps(spec.to_dict()))
    (repo / ".shiftctl").mkdir(exist_ok=True)
    (repo / ".shiftctl" / ".gitignore").write_text("*\n")
    proc = subprocess.run([sys.executable, "-m", "shiftctl.worker", str(run_dir / "spec.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((run_dir / "result.json").read_text())


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def test_checks_run_on_the_named_commit_not_on_the_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    good = commit(repo, "good.txt")
    commit(repo, "bad.txt")  # main moved on to a commit that fails
    before = refs(repo)
    check = ("tests", "test -f good.txt && ! test -f bad.txt && git rev-parse HEAD")
    result = verify(tmp_path, repo, good, [check])
    assert result["outcome"] == "succeeded" and result["error"] == ""
    [c] = result["checks"]
    assert c["passed"] and good in c["output"]
    assert refs(repo) == before  # nothing moved
    assert not (repo / ".shiftctl" / "worktrees" / "read-v1").exists()
    assert "read-v1" not in git(repo, "worktree", "list")

    failing = verify(tmp_path, repo, git(repo, "rev-parse", "main"), [check], name="v2")
    assert failing["outcome"] == "failed" and "tests" in failing["error"]
    assert failing["checks"][0]["passed"] is False


def test_a_commit_that_does_not_exist_fails_without_running_anything(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "ran"
    result = verify(tmp_path, repo, "0" * 40, [("t", f"touch {marker}")])
    assert result["outcome"] == "failed" and "worker error" in result["error"]
    assert result["checks"] == [] and not marker.exists()


@needs_bwrap
def test_sandboxed_checks_cannot_touch_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    sha = commit(repo, "lib.txt")
    before = refs(repo)
    attack = (f"git -C {repo} update-ref refs/heads/main HEAD~1 2>/dev/null; "
              f"echo evil > {repo}/.git/hooks/post-checkout 2>/dev/null; "
              "echo ran > inside.txt; test -f lib.txt")
    result = verify(tmp_path, repo, sha, [("attack", attack)], box="bwrap")
    assert result["outcome"] == "succeeded", result
    assert refs(repo) == before
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    # the same checks without the sandbox really do it: the attack is real
    verify(tmp_path, repo, sha, [("attack", attack)], name="v2")
    assert refs(repo) != before
    assert (repo / ".git" / "hooks" / "post-checkout").exists()
