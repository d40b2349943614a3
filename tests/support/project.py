"""A target repository with shiftctl set up (``project``), driven as a user would."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from shiftctl.admin import config as config_mod
from shiftctl.admin.cli.main import cli
from shiftctl.admin.config import Config
from shiftctl.admin.cycle.loop import run_loop
from shiftctl.admin.cycle.main import CycleResult, run_cycle
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.local import LocalTracker
from shiftctl.memory.store import Store

from support.agents import agent_argv
from support.repos import make_repo, wait_for

BASE_CONFIG: dict[str, Any] = {
    "base_branch": "main",
    # Explicitly none (the default is auto): most tests are not about the sandbox, and many
    # let their scripted agents leave markers outside the worktree (which bwrap forbids).
    # The sandbox's own tests set it; SHIFTCTL_TEST_SANDBOX=auto runs the rest boxed too.
    "sandbox": os.environ.get("SHIFTCTL_TEST_SANDBOX", "none"),
    "tracker": {"kind": "local", "intake_label": "shiftctl", "allowed_authors": ["alice"]},
    "agents": {"default": "shell"},
    "checks": [],
    "workers": {"max_concurrent": 4, "max_attempts": 3, "backoff_base": 0.2,
                "backoff_cap": 1, "task_timeout": 120, "stall_timeout": 60},
    "sleep": {"after_action": 0, "busy": 2, "idle": 60, "wake_check": 0.5},
}


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class Project:
    """A target repository with shiftctl set up, and helpers to drive it like a user."""

    bot = "shiftctl"  # who shiftctl is on the tracker

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings: dict[str, Any] = {}

    def configure(self, **extra: Any) -> Project:
        self.settings = merge(BASE_CONFIG, extra)
        (self.root / "shiftctl.yaml").write_text(yaml.safe_dump(self.settings, sort_keys=False))
        return self

    @property
    def config(self) -> Config:
        return config_mod.load(self.root)

    def worktree(self, issue: int, key: str) -> Path:
        """Where a task's worker works (agents' scripted tool calls name files in it)."""
        return self.root / ".shiftctl" / "worktrees" / f"{issue}-{key}"

    def tracker(self) -> LocalTracker:
        return LocalTracker(Paths(self.root).ensure_tracker(), self.root,
                            self.settings.get("tracker", {}).get("allowed_authors", ()))

    def file_issue(self, title: str, body: str = "", labels: tuple[str, ...] = ("shiftctl",),
                   author: str = "alice") -> int:
        t = self.tracker()
        try:
            return t.new_issue(title, textwrap.dedent(body), list(labels), author).number
        finally:
            t.close()

    def comment(self, number: int, text: str, author: str = "alice") -> None:
        t = self.tracker()
        try:
            t.post_comment(number, text, author=author)
        finally:
            t.close()

    def close_issue(self, number: int, author: str = "alice") -> None:
        """A person closes the issue on the tracker."""
        t = self.tracker()
        try:
            t.close_issue(number)
        finally:
            t.close()

    def remove_label(self, number: int, label: str, author: str = "alice") -> None:
        """A person takes a label off the issue on the tracker."""
        t = self.tracker()
        try:
            t.set_labels(number, remove=(label,))
        finally:
            t.close()

    def issue(self, number: int) -> dict[str, Any]:
        t = self.tracker()
        try:
            return t.get_issue(number).to_dict()
        finally:
            t.close()

    def prs(self) -> list[dict[str, Any]]:
        t = self.tracker()
        try:
            return [p.to_dict() | {"body": p.body} for p in t.list_prs()]
        finally:
            t.close()

    def cycle(self, now: float | None = None) -> CycleResult:
        """One cycle; ``now`` moves the cycle's clock (heartbeats, leases, backoffs)."""
        return run_cycle(self.config, now=now)

    def cycle_until(self, done: Callable[[], object], timeout: float = 90,
                    what: str = "the cycles to get there") -> None:
        """Cycle until ``done()`` (asked after each cycle, so it may read the state the
        first one makes); bounded by time, not by a count of cycles, since how many cycles a
        worker needs depends on how loaded the machine is."""
        deadline = time.monotonic() + timeout
        while True:
            self.cycle()
            if done():
                return
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def run(self, max_seconds: float = 90, **kw: Any) -> CycleResult:
        result = run_loop(self.root, until_idle=True, max_seconds=max_seconds, **kw)
        assert result is not None
        return result

    def store(self) -> Store:
        return Store.open(self.root / ".shiftctl" / "state.db", readonly=True)

    def tasks(self, issue: int) -> dict[str, Any]:
        s = self.store()
        try:
            return {t.key: t for t in s.tasks(issue=issue)}
        finally:
            s.close()

    def issue_state(self, number: int) -> str:
        s = self.store()
        try:
            found = s.issue(number)
            assert found is not None
            return found.state
        finally:
            s.close()

    def runs(self, issue: int | None = None) -> list[Any]:
        s = self.store()
        try:
            return s.runs(issue=issue) if issue is not None else s.runs()
        finally:
            s.close()

    def start_slow_task(self, marker: Path, *, sleep: float = 60, tick: float | None = 0.5,
                        **config: Any) -> tuple[int, Any]:
        """One task whose first agent sleeps (later attempts finish at once); returns
        (issue, run) once that first agent is running. ``marker`` holds the agent's pid."""
        env = {"AGENT_SLEEP": str(sleep), "AGENT_SLEEP_ONCE": str(marker),
               "AGENT_WRITE": "x.txt:x"}
        if tick:
            env["AGENT_TICK"] = str(tick)
        self.configure(agents={"default": "slow", "profiles": {"slow": {
            "kind": "command", "argv": agent_argv("scripted.py"), "env": env}}}, **config)
        n = self.file_issue("Slow", "- [ ] slow work\n")
        while self.cycle().rung != "assign":
            pass
        wait_for(marker.exists, what="the agent to start")
        return n, self.runs(n)[0]

    def cli(self, *args: str, check: bool = True, stdin: str | None = None,
            env: dict[str, str] | None = None,
            process: bool = False) -> subprocess.CompletedProcess[str]:
        """``shiftctl -C ROOT ARGS``: in this process through click's CliRunner, or as a real
        process when the test needs one (``process=True``, or its own environment)."""
        if process or env is not None:
            proc = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(self.root),
                                   *args], capture_output=True, text=True, input=stdin,
                                  env=env or dict(os.environ), timeout=120)
        else:
            result = CliRunner().invoke(cli, ["-C", str(self.root), *args], input=stdin,
                                        prog_name="shiftctl")
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            proc = subprocess.CompletedProcess(["shiftctl", *args], result.exit_code,
                                               result.stdout, result.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"shiftctl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(make_repo(tmp_path / "repo"))
    p.configure()
    yield p
    end_workers(p)


def end_workers(p: Project) -> None:
    """No test leaves a worker behind."""
    db = p.root / ".shiftctl" / "state.db"
    if not db.exists():
        return
    from shiftctl.admin.steps.dispatch import terminate
    from shiftctl.memory.db import StateError
    try:
        s = Store.open(db, readonly=True)
    except StateError:  # a test damaged it on purpose: no run can be found to end
        return
    try:
        runs = s.open_runs()
    finally:
        s.close()
    try:
        config = p.config
    except config_mod.ConfigError:  # a test broke it on purpose: only local runs then
        config = None
    terminate(*runs, grace=1.0, config=config)
