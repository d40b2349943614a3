"""Where shiftctl keeps its runtime files inside the target repository (docs/design.md §2)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def runtime(self) -> Path:
        return self.root / ".shiftctl"

    @property
    def state_db(self) -> Path:
        return self.runtime / "state.db"

    @property
    def tracker_db(self) -> Path:
        return self.runtime / "tracker.db"

    @property
    def runs(self) -> Path:
        return self.runtime / "runs"

    @property
    def worktrees(self) -> Path:
        return self.runtime / "worktrees"

    @property
    def lock(self) -> Path:
        return self.runtime / "admin.lock"

    @property
    def wake(self) -> Path:
        return self.runtime / "wake"

    @property
    def stop(self) -> Path:
        return self.runtime / "STOP"

    @property
    def requests(self) -> Path:
        return self.runtime / "requests"

    @property
    def logs(self) -> Path:
        return self.runtime / "logs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs / run_id

    def task_worktree(self, issue: int, key: str) -> Path:
        return self.worktrees / f"{issue}-{key}"

    def issue_worktree(self, issue: int) -> Path:
        return self.worktrees / f"issue-{issue}"

    def read_worktree(self, run_id: str) -> Path:
        """A read-only run's detached checkout (removed by its worker when it ends)."""
        return self.worktrees / f"{READ_PREFIX}{run_id}"

    def ensure(self) -> None:
        """Create the runtime directory, git-ignored as a whole."""
        self.runtime.mkdir(parents=True, exist_ok=True)
        ignore = self.runtime / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        for d in (self.runs, self.worktrees, self.requests, self.logs):
            d.mkdir(exist_ok=True)


READ_PREFIX = "read-"


def task_branch(issue: int, key: str) -> str:
    return f"shiftctl/{issue}-{key}"


def issue_branch(issue: int) -> str:
    return f"shiftctl/issue-{issue}"
