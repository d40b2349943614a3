"""Merging a local pull request: a real ``git merge --no-ff`` of its head into its base.

Apart from the local tracker so that reading the tracker (every cycle) loads no git."""
from __future__ import annotations

import tempfile
from pathlib import Path

from shiftctl.admin.tracker.base import TrackerError
from shiftctl.system import git


def _checked_out_at(repo: Path, branch: str) -> Path | None:
    current: Path | None = None
    for line in git.out(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree "):])
        elif line == f"branch refs/heads/{branch}" and current is not None:
            return current
    return None


def merge_branch(repo: Path, head: str, base: str, message: str) -> str:
    """Merge ``head`` into ``base`` where ``base`` is checked out, or in a scratch worktree."""
    if git.rev(repo, f"refs/heads/{head}") is None:
        raise TrackerError(f"branch {head!r} does not exist")
    where = _checked_out_at(repo, base)
    if where is not None:
        proc = git.run(where, *git.IDENTITY, "merge", "--no-ff", "-m", message, head, check=False)
        if proc.returncode != 0:
            git.run(where, "merge", "--abort", check=False)
            raise TrackerError(f"cannot merge {head} into {base}: "
                               f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        return git.out(where, "rev-parse", "HEAD")
    old = git.rev(repo, f"refs/heads/{base}")
    if old is None:
        raise TrackerError(f"base branch {base!r} does not exist")
    with tempfile.TemporaryDirectory(prefix="shiftctl-merge-") as tmp:
        scratch = Path(tmp) / "wt"
        tree = git.add_worktree(repo, scratch, old, "--detach")
        try:
            proc = git.run(tree, *git.IDENTITY, "merge", "--no-ff", "-m", message, head,
                           check=False)
            if proc.returncode != 0:
                raise TrackerError(f"cannot merge {head} into {base}: "
                                   f"{(proc.stderr or proc.stdout).strip()[-500:]}")
            sha = git.out(tree, "rev-parse", "HEAD")
            git.run(repo, "update-ref", f"refs/heads/{base}", sha, old)
        finally:
            git.remove_worktree(repo, scratch)
    return sha
