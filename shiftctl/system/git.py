"""Plain ``git`` subprocess calls, for the worker and the admin."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IDENTITY = ("-c", "user.name=shiftctl", "-c", "user.email=shiftctl@localhost")


class GitError(Exception):
    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        self.args_ = args
        self.code = code
        self.stderr = stderr.strip()
        super().__init__(f"git {' '.join(args)} failed ({code}): {self.stderr[-2000:]}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def config_env(settings: dict[str, str], base: dict[str, str] | None = None) -> dict[str, str]:
    """git's environment plus config given through ``GIT_CONFIG_COUNT`` (git 2.31+): for
    settings that must appear neither in argv (visible in /proc) nor in a config file."""
    env = _env() if base is None else dict(base)
    n = int(env.get("GIT_CONFIG_COUNT") or 0)
    for key, value in settings.items():
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
        n += 1
    env["GIT_CONFIG_COUNT"] = str(n)
    return env


def run(cwd: Path | str, *args: str, check: bool = True, timeout: float = 300,
        env: dict[str, str] | None = None,
        stdin_text: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, env=env or _env(), input=stdin_text,
                          errors="replace")
    if check and proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr or proc.stdout)
    return proc


@contextmanager
def worktree_lock(repo: Path | str) -> Iterator[None]:
    """One ``git worktree`` change at a time per repository.

    git does not serialise them: with a few workers starting at once, ``prune`` deletes
    another's half-made entry (``could not open '.git/worktrees/X/locked'``) and ``add``
    reads one half-written (``failed to read .git/worktrees/X/commondir``).
    """
    common = Path(repo) / ".git"
    if not common.is_dir():  # the repository is itself a linked worktree or a submodule
        common = Path(repo) / out(repo, "rev-parse", "--git-common-dir")
    with open(common / "shiftctl-worktree.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def worktree(repo: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``git worktree ARGS`` in ``repo``, under ``worktree_lock``."""
    with worktree_lock(repo):
        return run(repo, "worktree", *args, check=check)


# Only git's bookkeeping of worktrees is done under the lock; their files are checked out and
# deleted outside it: in a repository of 10,000 files either takes seconds, and workers
# starting together must not queue for one another's.
def add_worktree(repo: Path | str, path: Path | str, ref: str, *options: str) -> None:
    """``git worktree add OPTIONS PATH REF``: the entry, then the files."""
    worktree(repo, "add", "--no-checkout", *options, str(path), ref)
    run(path, "reset", "-q", "--hard")


def remove_worktree(repo: Path | str, path: Path | str) -> None:
    """The files, then the entry (``prune`` forgets worktrees whose directory is gone)."""
    shutil.rmtree(path, ignore_errors=True)
    worktree(repo, "prune", check=False)


def out(cwd: Path | str, *args: str, **kw: object) -> str:
    return run(cwd, *args, **kw).stdout.strip()  # type: ignore[arg-type]


def ok(cwd: Path | str, *args: str) -> bool:
    return run(cwd, *args, check=False).returncode == 0


def rev(cwd: Path | str, ref: str) -> str | None:
    proc = run(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def branch_exists(cwd: Path | str, branch: str) -> bool:
    return rev(cwd, f"refs/heads/{branch}") is not None


def is_ancestor(cwd: Path | str, ancestor: str, descendant: str) -> bool:
    return ok(cwd, "merge-base", "--is-ancestor", ancestor, descendant)


def commits_between(cwd: Path | str, base: str, head: str = "HEAD") -> list[str]:
    text = out(cwd, "rev-list", "--reverse", f"{base}..{head}")
    return text.split() if text else []


def files_between(cwd: Path | str, base: str, head: str = "HEAD") -> list[str]:
    text = out(cwd, "diff", "--name-only", "--no-renames", base, head)
    return [line for line in text.splitlines() if line]


def is_worktree(path: Path) -> bool:
    if not (path / ".git").exists():
        return False
    proc = run(path, "rev-parse", "--show-toplevel", check=False)
    return proc.returncode == 0 and Path(proc.stdout.strip()).resolve() == path.resolve()


def commit_all(worktree: Path, message: str) -> str | None:
    """Commit whatever is left in the worktree; returns the new SHA or None if clean."""
    run(worktree, "add", "-A")
    if ok(worktree, "diff", "--cached", "--quiet"):
        return None
    run(worktree, *IDENTITY, "commit", "--no-verify", "-q", "-m", message)
    return out(worktree, "rev-parse", "HEAD")


def merge_in_progress(worktree: Path) -> bool:
    return rev(worktree, "MERGE_HEAD") is not None


def clean_reset(worktree: Path, ref: str = "HEAD") -> None:
    if merge_in_progress(worktree):
        run(worktree, "merge", "--abort", check=False)
    run(worktree, "reset", "-q", "--hard", ref)
    run(worktree, "clean", "-q", "-fdx")
