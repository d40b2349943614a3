"""The fake's git side: a bare repository that serves as the remote over file://."""
from __future__ import annotations

import subprocess
from pathlib import Path


def git(bare: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=bare, capture_output=True, text=True,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(bare),
                               "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def create(path: Path, source: Path, branch: str = "main") -> Path:
    """A bare clone of ``source`` (its ``branch`` only), the remote for the target repo."""
    subprocess.run(["git", "clone", "-q", "--bare", "--single-branch", "--branch", branch,
                    str(source), str(path)], check=True, capture_output=True)
    return path


def rev(bare: Path, branch: str) -> str | None:
    out = git(bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
              check=False)
    return out or None


def merge(bare: Path, head: str, base: str, message: str, author: str) -> str:
    """A real merge commit of ``head`` into ``base``, made without a worktree."""
    head_sha, base_sha = rev(bare, head), rev(bare, base)
    if head_sha is None or base_sha is None:
        raise RuntimeError(f"cannot merge {head} into {base}: branch missing")
    tree = git(bare, "merge-tree", "--write-tree", base_sha, head_sha).splitlines()[0]
    ident = ["-c", f"user.name={author}", "-c", f"user.email={author}@users.noreply.test"]
    sha = git(bare, *ident, "commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", message)
    git(bare, "update-ref", f"refs/heads/{base}", sha, base_sha)
    return sha
