"""The launcher seam (docs/design.md §5): how a run's worker is started, watched, stopped and
collected, on this machine or elsewhere.

The ladder and the store never learn which launcher ran a run: a run records its launcher's
name and an opaque handle in its own columns (``runs.launcher``, ``runs.handle``,
``runs.host``), and only that launcher reads them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shiftctl.memory.store import Run

if TYPE_CHECKING:  # only types: an idle cycle loads neither
    from shiftctl.worker.result import Result
    from shiftctl.worker.spec import Spec


class LauncherError(RuntimeError):
    """A launcher that cannot do what was asked; the message says what and how to fix it."""


@dataclass(frozen=True)
class Liveness:
    """What the cycle knows of a run's worker: whether it lives, when it last beat and last
    produced output (seconds ago, None when never), whether its result is there to collect."""
    alive: bool
    heartbeat_age: float | None
    output_age: float | None
    result_ready: bool
    host: str | None = None  # where it runs, when the launcher knows


@dataclass(frozen=True)
class Collected:
    """A finished run's result, or why there is none (``missing`` when the worker wrote
    nothing: crashed or killed), and the outcome a launcher imposes on what it received
    (``tampered`` for a forged return; empty otherwise)."""
    result: Result | None
    problem: str = ""
    missing: bool = False
    imposed: str = ""
    columns: dict[str, Any] = field(default_factory=dict)  # the run's columns to record


class Launcher(Protocol):
    """One way of running workers. ``launch`` returns the run's new columns (pid, handle,
    host ...); the other calls take the recorded run."""

    kind: str

    def launch(self, spec: Spec, env: dict[str, str]) -> dict[str, Any]: ...

    def probe(self, run: Run, now: float) -> Liveness: ...

    def stop(self, runs: Sequence[Run], grace: float) -> None: ...

    def end_agent(self, run: Run) -> None: ...

    def collect(self, run: Run) -> Collected: ...
