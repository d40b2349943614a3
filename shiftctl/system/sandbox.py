"""``sandbox: bwrap``: the agent (and the checks that run its code) see a read-only system,
a writable worktree and a private /tmp. The worker itself stays outside and commits there.

Where bubblewrap cannot run, a sandboxed profile refuses to start; it never silently runs
unsandboxed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

BWRAP = "bwrap"


@lru_cache(maxsize=1)
def probe() -> str | None:
    """None when bwrap works here, else why not."""
    exe = shutil.which(BWRAP)
    if exe is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-pid", "--die-with-parent", "true"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot run: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot run here: {(proc.stderr or proc.stdout).strip()[:300]}"
    return None


def _masks(hidden: Sequence[Path]) -> list[str]:
    """Cover each hidden path: a directory with an empty tmpfs, a file with /dev/null."""
    out: list[str] = []
    for path in hidden:
        if path.is_dir():
            out += ["--tmpfs", str(path.resolve())]
        elif path.exists():
            out += ["--ro-bind", "/dev/null", str(path.resolve())]
    return out


def bwrap_argv(argv: Sequence[str], worktree: Path, read_only: Sequence[Path] = (),
               hidden: Sequence[Path] = ()) -> list[str]:
    """``read_only`` paths are bound again after the private /tmp, so they stay visible
    (the main repository's ``.git``, the run directory with the prompt) but not writable.
    The worktree's own ``.git`` file is bound read-only on top of the writable worktree: an
    agent that could replace it would choose the git dir (hooks, fsmonitor) of whoever runs
    git there next.
    ``hidden`` paths (the audit key's directory) are covered so the agent cannot read them:
    as root, or as the same user, file modes would not stop it."""
    wt = str(worktree.resolve())
    ro: list[str] = []
    for path in read_only:
        if path.exists():
            p = str(path.resolve())
            ro += ["--ro-bind", p, p]
    dot_git = f"{wt}/.git"
    if os.path.isfile(dot_git) and not os.path.islink(dot_git):
        ro_git = ["--ro-bind", dot_git, dot_git]
    else:
        ro_git = []
    return [BWRAP, "--ro-bind", "/", "/",
            "--tmpfs", "/tmp",           # before any bind below /tmp
            "--dev", "/dev", "--proc", "/proc",
            *_masks(hidden),
            *ro,
            "--bind", wt, wt,
            *ro_git,
            "--setenv", "TMPDIR", "/tmp",
            "--unshare-pid", "--die-with-parent", "--new-session",
            "--chdir", wt, "--", *argv]


def wrapper(kind: str, worktree: Path, read_only: Sequence[Path] = (),
            hidden: Sequence[Path] = ()) -> Callable[[Sequence[str]], list[str]]:
    """The argv transform for a sandbox kind; raises ``SandboxError`` if it cannot run."""
    if kind in ("", "none"):
        return list
    if kind != "bwrap":
        raise SandboxError(f"unknown sandbox {kind!r}")
    why = probe()
    if why:
        raise SandboxError(f"sandbox bwrap is required by this profile but {why}; "
                           "refusing to run the agent unsandboxed")
    return lambda argv: bwrap_argv(argv, worktree, read_only, hidden)


class SandboxError(RuntimeError):
    pass
