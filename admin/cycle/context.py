"""Everything an action handler may touch during one cycle, in one place."""
from __future__ import annotations

from dataclasses import dataclass, field

from shiftctl.admin.config import Config
from shiftctl.admin.cycle.snapshot import RunView, Snapshot
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.base import Tracker
from shiftctl.admin.tracker.outbox import Outbox
from shiftctl.memory.store import Issue, Store, Task


@dataclass
class CycleContext:
    config: Config
    paths: Paths
    store: Store
    tracker: Tracker
    snapshot: Snapshot
    notes: list[str] = field(default_factory=list)
    integration_heads: dict[int, str] = field(default_factory=dict)  # issue -> SHA, this cycle
    clean_worktrees: set[int] = field(default_factory=set)  # issues merged into this cycle

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.store, self.tracker)

    @property
    def now(self) -> float:
        return self.snapshot.now

    def issue(self, number: int) -> Issue:
        issue = self.store.issue(number)
        if issue is None:
            raise LookupError(f"no issue #{number} in the state db")
        return issue

    def task(self, task_id: int) -> Task:
        task = self.store.task(task_id)
        if task is None:
            raise LookupError(f"no task {task_id} in the state db")
        return task

    def run_view(self, run_id: str) -> RunView:
        for rv in self.snapshot.runs:
            if rv.run.id == run_id:
                return rv
        raise LookupError(f"run {run_id} is not open")
