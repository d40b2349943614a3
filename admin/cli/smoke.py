"""``doctor --smoke``: each configured profile runs once, for real, before any task does.

The run takes the path every read-only run takes (a worker process, a detached checkout of
the base branch, the profile's sandbox and environment, ``result.json``), on a prompt that
asks for one word, so it costs next to nothing; what comes back is the outcome, the seconds
and the cost. It writes nothing to the state db (only the cycle does): its files live in
``.shiftctl/smoke/`` and are removed once it succeeded (kept when it failed, to read).
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from shiftctl.admin.config import Config
from shiftctl.admin.humanize import money
from shiftctl.admin.paths import Paths
from shiftctl.admin.profiles import agent_spec, worker_pass_env
from shiftctl.system import git
from shiftctl.system.env import build_env
from shiftctl.system.fs import atomic_write, check_unlinked, write_json
from shiftctl.worker.result import ResultError, read
from shiftctl.worker.spec import Spec, TaskSpec

PROMPT = ("This is `shiftctl doctor --smoke`, a check that you start and answer. Change no "
          "file and run no command. Reply with the single word: OK\n")
SMOKE_TIMEOUT_S = 180.0


@dataclass
class Smoke:
    profile: str
    outcome: str
    seconds: float
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    error: str = ""
    kept: str | None = None  # the run directory, kept when it failed

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"

    def describe(self) -> str:
        what = (f"{self.outcome} in {self.seconds:.1f}s, {money(self.cost_usd)}, "
                f"{self.tokens_in} tokens in, {self.tokens_out} out")
        if self.error:
            what += f": {self.error[:300]}"
        return what + (f" (files kept in {self.kept})" if self.kept else "")


def smoke(config: Config, name: str, timeout: float = SMOKE_TIMEOUT_S) -> Smoke:
    """Run profile ``name`` once, read-only, through the worker; never raises for the agent."""
    paths = Paths(config.root)
    paths.ensure()
    base = git.rev(config.root, f"refs/heads/{config.base_branch}")
    if base is None:
        return Smoke(name, "not run", 0.0, error=f"base branch {config.base_branch!r} has no "
                     "commit yet (make a first commit)")
    run_id = f"smoke-{name}-{secrets.token_hex(3)}"
    run_dir = paths.runtime / "smoke" / run_id
    check_unlinked(paths.root, run_dir)
    run_dir.mkdir(parents=True)
    atomic_write(run_dir / "prompt.md", PROMPT, durable=False)
    agent = agent_spec(config, config.agents.profiles[name], read_only=True)
    agent.task_timeout = min(agent.task_timeout, timeout)
    agent.stall_timeout = min(agent.stall_timeout, timeout)
    spec = Spec(run_id=run_id, run_dir=str(run_dir), repo=str(config.root),
                worktree=str(run_dir / "checkout"), branch="", base_ref="", base_sha=base,
                task=TaskSpec(issue=0, key="smoke", title=f"doctor smoke test of {name}"),
                agent=agent, prompt_file=str(run_dir / "prompt.md"), mode="read",
                hidden=[str(paths.audit_dir)])
    write_json(run_dir / "spec.json", spec.to_dict(), durable=False)
    env = build_env(os.environ, worker_pass_env(config))
    started = time.monotonic()
    try:
        subprocess.run([sys.executable, "-m", "shiftctl.worker", str(run_dir / "spec.json")],
                       cwd=str(run_dir), env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout + 60)
        result = read(run_dir / "result.json")
    except (subprocess.TimeoutExpired, ResultError, OSError) as exc:
        return Smoke(name, "failed", time.monotonic() - started,
                     error=f"the worker did not report: {exc}", kept=str(run_dir))
    found = Smoke(name, result.outcome, time.monotonic() - started, result.cost_usd,
                  result.tokens_in, result.tokens_out, result.error)
    if found.ok:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        found.kept = str(run_dir)
    return found
