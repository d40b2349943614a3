"""shiftctl's git runs nothing an agent planted (hooks, fsmonitor, drivers, helpers, pagers,
editors, gpg, core.worktree) and sees none of the admin's secrets: real git, real payloads.

Every attack is run twice over the same sequence of git commands the admin and the worker
run (reset, status, stash, worktree add, add/commit, diff, merge, clean, push, credentials,
log on a terminal): through ``shiftctl.system.git``, where the payload must never run, and
through plain git as shiftctl used to call it, where it must (else the attack is not real).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from shiftctl.system import git

from support.attacks import KINDS, hooks_ran, in_tty, payload, plant, ran
from support.repos import git as plain_git
from support.repos import make_repo

SECRET = "ghp_SeCrEtTokenValue1234567890abcdef"


class Hardened:
    """Through the helper, as shiftctl runs git now."""

    def run(self, where: Any, *args: str, stdin: str | None = None, protocol: str = "") -> Any:
        return git.run(where, *args, check=False, stdin_text=stdin, protocol=protocol,
                       timeout=60)

    def worktree(self, root: Path, path: Path, ref: str, *options: str) -> Any:
        return git.fresh_worktree(root, path, ref, "-f", *options)

    def tty(self, where: Any, *args: str) -> None:
        in_tty(*git.command(where, *args))


class Plain:
    """Plain git with the caller's whole environment, found from the cwd: the control."""

    def run(self, where: Any, *args: str, stdin: str | None = None, protocol: str = "") -> Any:
        env = {**os.environ, "VISUAL": "false", "EDITOR": "false"}  # below core.editor
        return subprocess.run(["git", *args], cwd=where, env=env, input=stdin or "",
                              capture_output=True, text=True, timeout=60)

    def worktree(self, root: Path, path: Path, ref: str, *options: str) -> Any:
        self.run(root, "worktree", "add", "-f", *options, str(path), ref)
        path.mkdir(parents=True, exist_ok=True)  # (a required filter that fails stops it)
        return path

    def tty(self, where: Any, *args: str) -> None:
        in_tty(["git", *args], Path(where), dict(os.environ))


def _path(where: Any) -> Path:
    return where.work_tree if isinstance(where, git.Tree) else Path(where)


def exercise(g: Hardened | Plain, root: Path, remote: Path) -> None:
    """What the admin and the worker do with git, in one sequence."""
    me: Sequence[str] = git.IDENTITY
    g.run(root, "reset", "-q", "--hard")
    (root / "README.md").write_text("touched\n")
    g.run(root, "status", "--porcelain")
    g.run(root, "stash", "create")
    g.run(root, "checkout", "--", "README.md")
    wt = g.worktree(root, root / ".shiftctl" / "worktrees" / "1-t1", "main", "-B",
                    "shiftctl/1-t1")                                    # worker: prepare
    (_path(wt) / "b.txt").write_text("worker\n")
    g.run(wt, "add", "-A")                                              # worker: commit
    g.run(wt, *me, "commit", "--no-verify", "-q", "-m", "work")
    g.run(wt, *me, "commit", "--allow-empty")                           # (no -m: an editor)
    g.run(wt, *me, "commit", "--amend", "-q", "--no-edit")
    g.run(wt, "rev-list", "--reverse", "main..HEAD")
    g.run(wt, "diff", "--name-only", "--no-renames", "main", "HEAD")
    g.run(root, "diff", "--no-color", "--stat", "-p", "main", "shiftctl/1-t1")  # review
    g.run(root, "diff", "--numstat", "main", "shiftctl/1-t1")
    iwt = g.worktree(root, root / ".shiftctl" / "worktrees" / "issue-1", "main", "-B",
                     "shiftctl/issue-1")                                # admin: integrate
    g.run(iwt, *me, "merge", "--no-ff", "--no-edit", "-m", "merge", "shiftctl/1-t1")
    (_path(iwt) / "a.txt").write_text("ours\n")
    g.run(iwt, *me, "commit", "-q", "-a", "-m", "ours")
    g.run(iwt, *me, "merge", "--no-edit", "side")                       # content merge
    g.run(iwt, "merge", "--abort")
    g.run(iwt, "reset", "-q", "--hard", "HEAD~1")
    g.run(iwt, "clean", "-q", "-fdx")
    g.run(root, "credential", "fill", stdin="protocol=https\nhost=example.invalid\n\n")
    g.run(root, "push", "--porcelain", str(remote), "shiftctl/issue-1", protocol="file")
    g.run(root, "push", "ssh://git@127.0.0.1:9/x.git", "main", protocol="ssh")
    g.tty(root, "log", "-1", "-p")


@pytest.fixture
def target(tmp_path: Path) -> dict[str, Path]:
    root = make_repo(tmp_path / "repo")
    (root / "a.txt").write_text("base\n")
    (root / ".gitignore").write_text(".shiftctl/\n")
    plain_git(root, "add", "-A")
    plain_git(root, "commit", "-qm", "base")
    plain_git(root, "checkout", "-qb", "side")
    (root / "a.txt").write_text("side\n")
    (root / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n")
    plain_git(root, "add", "-A")
    plain_git(root, "commit", "-qm", "side")
    plain_git(root, "checkout", "-q", "main")
    remote = tmp_path / "remote.git"
    plain_git(tmp_path, "init", "-q", "--bare", str(remote))
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "keep.txt").write_text("the person's file\n")
    script, marks = payload(tmp_path / "evil")
    return {"root": root, "remote": remote, "decoy": decoy, "script": script, "marks": marks}


@pytest.mark.parametrize("kind", KINDS)
def test_shiftctls_git_runs_no_planted_program(kind: str, target: dict[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    plant(kind, target["root"], target["script"], target["decoy"])
    exercise(Hardened(), target["root"], target["remote"])
    assert ran(target["marks"]) == []
    assert sorted(p.name for p in target["decoy"].iterdir()) == ["keep.txt"]
    # the work itself was done: git was hardened, not broken
    assert plain_git(target["root"], "rev-parse", "shiftctl/1-t1") != \
        plain_git(target["root"], "rev-parse", "main")
    assert plain_git(target["remote"], "rev-parse", "shiftctl/issue-1")


@pytest.mark.parametrize("kind", KINDS)
def test_each_planted_program_does_run_under_plain_git(kind: str, target: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same sequence through plain git runs the payload with the token in
    its environment (or, for core.worktree, works in the decoy): each attack is real."""
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    plant(kind, target["root"], target["script"], target["decoy"])
    exercise(Plain(), target["root"], target["remote"])
    if kind == "core-worktree":
        assert (target["decoy"] / "README.md").exists()
        return
    runs = ran(target["marks"])
    assert runs, f"{kind}: plain git did not run the payload"
    assert any(SECRET in env for env in runs)
    if kind == "hooks":
        assert hooks_ran(target["marks"]) >= {
            "post-checkout", "post-merge", "pre-merge-commit", "reference-transaction",
            "post-index-change", "prepare-commit-msg", "commit-msg", "post-commit",
            "post-rewrite", "pre-push"}


def test_git_children_see_an_allowlisted_environment(target: dict[str, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = target["root"]
    for name in ("GITHUB_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, SECRET + name)
    monkeypatch.setenv("GIT_DIR", str(target["decoy"]))  # the caller's GIT_* do not leak in
    dump = target["decoy"].parent / "env.txt"
    for protocol in ("", "file"):
        # a program git itself starts (here an alias shiftctl would never call) sees this
        git.run(root, "-c", f"alias.envdump=!env > {dump}", "envdump", protocol=protocol)
        env = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
        assert SECRET not in dump.read_text()
        assert env["GIT_DIR"] == str(root / ".git") and env["GIT_ALLOW_PROTOCOL"] == protocol
        assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["HOME"] == os.environ["HOME"]


def test_planted_config_is_seen_between_two_calls_of_one_process(
        target: dict[str, Path]) -> None:
    """The discovery is cached per git dir: planting after a warm call, or into a file an
    include names but that did not exist yet, or behind an ``onbranch`` include that a
    checkout turns on, must still be neutralised on the next call."""
    root, script, marks = target["root"], target["script"], target["marks"]
    common = root / ".git"
    later = target["decoy"].parent / "later.cfg"
    branchy = target["decoy"].parent / "branchy.cfg"
    plain_git(root, "config", "include.path", str(later))
    plain_git(root, "config", "includeIf.onbranch:side.path", str(branchy))
    branchy.write_text(f'[filter "evil"]\n\tclean = {script}\n\tsmudge = {script}\n')
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "attributes").write_text("* filter=evil\n")
    git.run(root, "status")  # warm: nothing to neutralise on main
    later.write_text(f'[core]\n\tfsmonitor = {script}\n[filter "evil2"]\n\tclean = {script}\n')
    (common / "info" / "attributes").write_text("* filter=evil filter=evil2\n")
    (root / "a.txt").write_text("changed\n")
    git.run(root, "add", "-A")
    git.run(root, "checkout", "-q", "-f", "side")      # onbranch:side is now in force
    (root / "a.txt").write_text("changed on side\n")
    git.run(root, "add", "-A")
    git.run(root, "status", "--porcelain")
    assert ran(marks) == []
    plain_git(root, "add", "-A")  # the control: the same config does run under plain git
    assert ran(marks)


def test_hardened_git_still_honours_harmless_user_config(target: dict[str, Path]) -> None:
    """Only what runs programs is overridden: aliases of the user's, ``core.autocrlf`` and
    the like stay in effect (here: an exclude file from the global config)."""
    root = target["root"]
    excludes = target["decoy"].parent / "ignore"
    excludes.write_text("*.tmp\n")
    plain_git(root, "config", "--global", "core.excludesFile", str(excludes))
    (root / "junk.tmp").write_text("x\n")
    assert "junk.tmp" not in git.out(root, "status", "--porcelain")


def test_a_push_may_use_only_its_remotes_own_transport(target: dict[str, Path]) -> None:
    root, script = target["root"], target["script"]
    plain_git(root, "config", "protocol.ext.allow", "always")
    for protocol in ("https", "file"):
        proc = git.run(root, "push", f"ext::{script}", "main", check=False, protocol=protocol)
        assert proc.returncode != 0 and "not allowed" in proc.stderr
    proc = git.run(root, "ls-remote", str(target["remote"]), check=False)
    assert proc.returncode != 0 and "not allowed" in proc.stderr  # no transport at all
    with pytest.raises(ValueError):
        git.run(root, "push", f"ext::{script}", "main", protocol="ext")
    assert ran(target["marks"]) == []
