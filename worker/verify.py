"""A ``verify`` run: the configured checks on the integrated branch, and nothing else.

No agent runs. The checks execute code the agents wrote, so they run here, in a worker (never
in the admin), on a detached checkout of exactly the integration head the admin recorded, in
the sandbox the admin chose, and report in ``result.json`` like a task's checks.
"""
from __future__ import annotations

import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from shiftctl.system import git
from shiftctl.system.env import build_env
from shiftctl.worker.checks import run_checks
from shiftctl.worker.main import Stoppable, prepare_checkout, remove_home, sandbox_for
from shiftctl.worker.result import Result


def outcome_of(checks: list[dict[str, Any]]) -> tuple[str, str]:
    """(outcome, error) of a verification from its check results. Pure."""
    if not checks:
        return "failed", "no check ran"
    failing = [c["name"] for c in checks if not c.get("passed")]
    if failing:
        return "failed", "check(s) failed on the integrated branch: " + ", ".join(failing)
    return "succeeded", ""


class Verification(Stoppable):
    def _started(self, pgid: int) -> None:
        self.heartbeat.agent_pid = pgid  # the admin's kill reaches the check's own group
        self.heartbeat.beat()

    def _checks(self) -> None:
        spec, res = self.spec, self.result
        tree = prepare_checkout(spec)
        wt = tree.work_tree
        homes: list[Path] = []
        try:
            head = git.rev(tree, "HEAD")
            if head != spec.base_sha:
                raise RuntimeError(f"the checkout is at {head}, not at {spec.base_sha}")
            env = build_env(os.environ, spec.agent.pass_env, spec.agent.env)
            wrap = sandbox_for(spec, wt, env, homes, "check-home")
            self.heartbeat.set("checks")
            with open(spec.dir / "agent.log", "ab") as log:
                res.checks = run_checks(spec.checks, worktree=wt, env=env, log=log, wrap=wrap,
                                        on_start=self._started,
                                        should_stop=lambda: self.stopping)
        finally:
            git.remove_worktree(spec.repo, wt)
            for home in homes:
                remove_home(home)
        res.outcome, res.error = outcome_of(res.checks)
        if self.stopping:
            res.outcome, res.error = "failed", "attempt terminated"

    def run(self) -> Result:
        signal.signal(signal.SIGTERM, self._on_term)
        res = self.result
        self.heartbeat.start()
        try:
            self.heartbeat.set("worktree")
            self._checks()
        except Exception as exc:  # the verification fails; the worker still reports
            res.outcome, res.checks = "failed", []
            res.error = f"worker error: {type(exc).__name__}: {exc}"[:4000]
            try:
                with open(self.spec.dir / "agent.log", "ab") as log:
                    log.write(traceback.format_exc().encode())
            except OSError:
                pass
        finally:
            self.heartbeat.stop()
        res.ended_at = time.time()
        return res
