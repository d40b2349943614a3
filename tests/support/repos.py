"""Real git repositories in temporary directories, and waiting without fixed sleeps."""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# target\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def wait_for(predicate: Callable[[], object], timeout: float = 30.0,
             what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def outside_tmp(name: str) -> Path:
    """A fresh directory outside /tmp (Codex will not set up its sandbox under /tmp), next to
    the checkout unless that is itself under /tmp. The caller removes it."""
    base = ROOT / ".cache" if not ROOT.resolve().is_relative_to("/tmp") else Path("/var/tmp")
    path = base / "shiftctl-tests" / f"{name}-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir(parents=True)
    return path
