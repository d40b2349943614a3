"""Launchers: where and how workers run (docs/design.md §5). ``local`` is the default.

``for_run`` picks the launcher that started a recorded run (by its ``launcher`` column), so a
change of ``workers.launcher`` never orphans runs already under way; ``current`` is the one
new runs go to; ``Picker`` does what ``for_run`` does for a pass over many runs.
"""
from __future__ import annotations

from shiftctl.admin.config import Config
from shiftctl.admin.launchers.base import Launcher, LauncherError
from shiftctl.admin.launchers.local import LocalLauncher
from shiftctl.admin.paths import Paths
from shiftctl.memory.store import Run


def make(kind: str, config: Config | None, paths: Paths | None = None) -> Launcher:
    if kind == "local":
        return LocalLauncher(paths)
    if kind == "rq":
        if config is None:
            raise LauncherError("the rq launcher needs the configuration (workers.launcher)")
        from shiftctl.admin.launchers.rq import RqLauncher
        return RqLauncher(config, paths)
    if kind == "kubernetes":
        if config is None:
            raise LauncherError("the kubernetes launcher needs the configuration "
                                "(workers.launcher)")
        from shiftctl.admin.launchers.kubernetes import KubernetesLauncher
        return KubernetesLauncher(config, paths)
    raise LauncherError(f"unknown launcher {kind!r} (workers.launcher.kind); this shiftctl "
                        "knows: local, rq, kubernetes")


def current(config: Config, paths: Paths | None = None) -> Launcher:
    """The launcher new runs start with: ``workers.launcher.kind``."""
    return make(config.workers.launcher.kind, config, paths)


def for_run(run: Run, config: Config | None, paths: Paths | None = None) -> Launcher:
    """The launcher that started ``run`` (NULL: local, as every run before launchers)."""
    return Picker(config, paths)(run)


class Picker:
    """``for_run`` for a pass over many runs (a snapshot, a /metrics scrape, ``status``): one
    launcher per kind, so an RQ launcher's Redis connection is made once per pass, not once
    per run."""

    def __init__(self, config: Config | None, paths: Paths | None = None) -> None:
        self.config, self.paths = config, paths
        self._made: dict[str, Launcher] = {}

    def __call__(self, run: Run) -> Launcher:
        kind = run.launcher or "local"  # NULL: a run from before launchers
        if kind not in self._made:
            self._made[kind] = make(kind, self.config, self.paths)
        return self._made[kind]
