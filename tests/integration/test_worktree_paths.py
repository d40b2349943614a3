"""Worktree paths are never followed through symbolic links, and the worker never trusts the
worktree's ``.git`` after its agent: a real ``python -m shiftctl.worker`` and real git."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from shiftctl.system import git
from shiftctl.system.fs import LinkedPathError, check_unlinked

from support.agents import agent_argv
from support.attacks import ran
from support.repos import git as plain_git
from support.repos import make_repo
from support.worker import run_worker


def worktree_path(repo: Path) -> Path:
    return repo / ".shiftctl" / "worktrees" / "1-t1"  # where support.worker puts it


def test_a_worker_never_cleans_or_checks_out_a_clone_its_worktree_path_links_to(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    clone = tmp_path / "clone"
    plain_git(tmp_path, "clone", "-q", str(repo), str(clone))
    (clone / "precious.txt").write_text("a person's untracked work\n")
    (clone / "README.md").write_text("a person's uncommitted edit\n")
    head = plain_git(clone, "rev-parse", "HEAD")
    worktree_path(repo).parent.mkdir(parents=True)
    worktree_path(repo).symlink_to(clone)

    r = run_worker(tmp_path, repo=repo, argv=agent_argv("scripted.py"),
                   env={"AGENT_WRITE": "a.txt:a"})

    assert r["outcome"] == "failed" and "was a symbolic link" in r["error"]
    assert plain_git(clone, "rev-parse", "HEAD") == head
    assert plain_git(clone, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert (clone / "precious.txt").exists()
    assert (clone / "README.md").read_text() == "a person's uncommitted edit\n"
    assert not (clone / "a.txt").exists()  # the agent never worked there either
    assert not os.path.lexists(worktree_path(repo))  # the link (only the link) is gone
    r2 = run_worker(tmp_path / "again", repo=repo, argv=agent_argv("scripted.py"),
                    env={"AGENT_WRITE": "a.txt:a"}, name="run2")
    assert r2["outcome"] == "succeeded"  # the next attempt starts clean


def test_a_link_to_a_plain_directory_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.txt").write_text("keep\n")
    worktree_path(repo).parent.mkdir(parents=True)
    worktree_path(repo).symlink_to(plain)
    r = run_worker(tmp_path, repo=repo, kind="shell", body="```sh\necho hi > hi\n```\n")
    assert r["outcome"] == "failed"
    assert "was a symbolic link" in r["error"] and "rmtree" not in r["error"]
    assert sorted(p.name for p in plain.iterdir()) == ["data.txt"]


def test_a_linked_worktrees_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "1-t1").mkdir(parents=True)
    (elsewhere / "1-t1" / "data.txt").write_text("keep\n")
    (repo / ".shiftctl").mkdir()
    (repo / ".shiftctl" / "worktrees").symlink_to(elsewhere)
    r = run_worker(tmp_path, repo=repo, kind="shell", body="```sh\necho hi > hi\n```\n")
    assert r["outcome"] == "failed" and "is a symbolic link" in r["error"]
    assert (repo / ".shiftctl" / "worktrees").is_symlink()  # not ours to remove
    assert sorted(p.name for p in (elsewhere / "1-t1").iterdir()) == ["data.txt"]


def test_the_workers_git_ignores_a_git_dir_its_agent_put_in_the_worktree(
        tmp_path: Path) -> None:
    """Unsandboxed, the agent replaces its worktree's ``.git`` file with a directory whose
    config names hooks and an fsmonitor: the worker's add/commit/rev-list/diff use the git
    dir the worker made, so nothing of it runs and the commit lands on the real branch."""
    evil = tmp_path / "evil"
    r = run_worker(tmp_path, argv=agent_argv("git_attacker.py"),
                   env={"EVIL_DIR": str(evil), "EVIL_DO": "gitfile"})
    assert ran(evil / "marks") == []
    assert r["outcome"] == "succeeded", r["error"]
    repo = r["_repo"]
    assert set(r["files_changed"]) == {"evil-was-here.txt", "evil-report.json"}
    assert "evil-was-here.txt" in plain_git(repo, "ls-tree", "--name-only", "shiftctl/1-t1")
    assert (worktree_path(repo) / ".git").is_dir()  # the agent's directory, never used
    # the control: git that trusts the worktree's .git runs the planted fsmonitor
    plain_git(worktree_path(repo), "status")
    assert ran(evil / "marks")


def test_paths_are_checked_component_by_component_without_following_links(
        tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (root / "a" / "link").symlink_to(tmp_path / "out")
    check_unlinked(root, root / "a" / "b" / "c" / "not-yet")  # a missing tail is fine
    for bad in (root / "a" / "link", root / "a" / "link" / "x", root / ".." / "out",
                root / "a" / ".." / ".." / "out", tmp_path / "out"):
        with pytest.raises(LinkedPathError):
            check_unlinked(root, bad)


def test_a_worktree_is_known_by_gits_records_never_through_a_link(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    clone = tmp_path / "clone"
    plain_git(tmp_path, "clone", "-q", str(repo), str(clone))
    wt = repo / ".shiftctl" / "worktrees" / "x"
    tree = git.fresh_worktree(repo, wt, "main", "--detach")
    assert tree == git.find_worktree(repo, wt, intact=True)
    assert tree.git_dir.parent == repo / ".git" / "worktrees"
    other = repo / ".shiftctl" / "worktrees" / "y"
    other.symlink_to(clone)  # a clone of the same repository: not a worktree of ours
    assert git.find_worktree(repo, other) is None
    (wt / ".git").write_text(f"gitdir: {clone / '.git'}\n")  # rewritten by its agent
    assert git.find_worktree(repo, wt, intact=True) is None
    assert git.find_worktree(repo, wt) == tree  # git's own record still says where it is
    git.remove_worktree(repo, other)  # removes the link only
    assert not os.path.lexists(other) and (clone / "README.md").exists()
