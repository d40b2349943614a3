"""Undoing tampering in the shared git dir: what is removed is kept, refs go to quarantine,
and overlapping runs never put back what another run undid. Real git, real files."""
from __future__ import annotations

from pathlib import Path

from shiftctl.system import git as shiftctl_git
from shiftctl.worker import tamper

from support.repos import git, make_repo


def plant_hook(repo: Path, name: str = "post-merge") -> Path:
    hook = repo / ".git" / "hooks" / name
    hook.write_text("#!/bin/sh\ntouch /tmp/never\n")
    hook.chmod(0o755)
    return hook


def guard(repo: Path, tmp_path: Path, run: str) -> tamper.Guard:
    return tamper.Guard(repo, run, tmp_path / "runs" / run, None)


def test_overlapping_runs_never_put_back_what_another_run_undid(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    main = git(repo, "rev-parse", "main")
    a = guard(repo, tmp_path, "run-a")
    a.before()
    hook = plant_hook(repo)                                   # run A's agent tampers ...
    git(repo, "config", "core.fsmonitor", "/tmp/evil")
    git(repo, "commit", "-q", "--allow-empty", "-m", "evil")  # ... and moves main
    b = guard(repo, tmp_path, "run-b")
    b.before()                                                # run B starts: sees all that
    found_a = a.after()
    assert {e["what"] for e in found_a} == {"hook `post-merge`", "`.git/config`",
                                            "ref `refs/heads/main`"}
    assert not hook.exists() and "fsmonitor" not in (repo / ".git" / "config").read_text()
    assert git(repo, "rev-parse", "main") == main
    found_b = b.after()                  # B sees A's undo as a change, and must not revert it
    assert found_b and all(e["undo"].startswith("left as found") for e in found_b), found_b
    assert not hook.exists() and "fsmonitor" not in (repo / ".git" / "config").read_text()
    assert git(repo, "rev-parse", "main") == main


def test_what_is_undone_is_kept_for_a_person(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    main = git(repo, "rev-parse", "main")
    g = guard(repo, tmp_path, "run-1")
    g.before()
    plant_hook(repo, "pre-commit")
    git(repo, "commit", "-q", "--allow-empty", "-m", "a person's commit, in the window")
    theirs = git(repo, "rev-parse", "main")
    found = {e["what"]: e for e in g.after()}
    kept = tmp_path / "runs" / "run-1" / "tampered" / "hooks" / "pre-commit"
    assert "touch /tmp/never" in kept.read_text()
    assert "runs/run-1/tampered/hooks/pre-commit" in found["hook `pre-commit`"]["undo"]
    quarantine = "refs/shiftctl/quarantine/run-1/refs/heads/main"
    assert git(repo, "rev-parse", quarantine) == theirs  # never lost
    assert quarantine in found["ref `refs/heads/main`"]["undo"]
    assert found["ref `refs/heads/main`"]["detail"] == [f"{main} -> {theirs}"]
    assert git(repo, "rev-parse", "main") == main


def test_a_hooks_directory_replaced_by_a_link_is_restored(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    hooks = repo / ".git" / "hooks"
    samples = sorted(p.name for p in hooks.iterdir())
    evil = tmp_path / "evil-hooks"
    evil.mkdir()
    (evil / "post-checkout").write_text("#!/bin/sh\n")
    g = guard(repo, tmp_path, "run-1")
    g.before()
    hooks.rename(tmp_path / "old-hooks")
    hooks.symlink_to(evil)
    found = g.after()
    assert found[0]["what"] == "the hooks directory `.git/hooks`"
    assert hooks.is_dir() and not hooks.is_symlink()
    assert sorted(p.name for p in hooks.iterdir()) == samples
    assert (evil / "post-checkout").exists()  # the link's target is not ours to delete


def test_config_changes_are_reported_key_by_key(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "config", "user.name", "A Person")
    g = guard(repo, tmp_path, "run-1")
    g.before()
    git(repo, "config", "filter.evil.clean", "/tmp/evil %f")
    git(repo, "config", "user.name", "Someone Else")
    git(repo, "config", "--unset", "core.bare")
    (entry,) = g.after()
    assert entry["what"] == "`.git/config`" and entry["change"] == "changed"
    assert set(entry["detail"]) == {"+ filter.evil.clean = /tmp/evil %f", "- core.bare",
                                    "~ user.name = Someone Else"}
    assert git(repo, "config", "user.name") == "A Person"
    assert "filter" not in (repo / ".git" / "config").read_text()


def test_shiftctls_own_work_and_a_persons_fetch_are_not_tampering(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "config", "--global", "branch.autoSetupMerge", "always")  # tracking config
    worktrees = repo / ".shiftctl" / "worktrees"
    g = guard(repo, tmp_path, "run-1")
    g.before()
    shiftctl_git.run(repo, "branch", "shiftctl/issue-1", "refs/heads/main")
    shiftctl_git.fresh_worktree(repo, worktrees / "issue-1", "shiftctl/issue-1", "-f")
    shiftctl_git.fresh_worktree(repo, worktrees / "1-t2", "main", "-f", "-B", "shiftctl/1-t2")
    shiftctl_git.run(repo, "update-ref", "refs/shiftctl/quarantine/x/y", "HEAD")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # a person's fetch
    assert g.after() == []
    git(repo, "branch", "not-shiftctls", "main")  # the control: plain git writes config here
    assert [e["what"] for e in g.after()] == ["`.git/config`", "ref `refs/heads/not-shiftctls`"]
