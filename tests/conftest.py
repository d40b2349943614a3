"""Shallow fixtures: every test gets its own HOME, git identity and target repository."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiftctl.admin import config as config_mod
from shiftctl.admin.config import Config
from shiftctl.admin.cycle.loop import run_loop
from shiftctl.admin.cycle.main import CycleResult, run_cycle
from shiftctl.admin.tracker.local import LocalTracker
from shiftctl.memory.store import Store

from model_server import ModelServer

ROOT = Path(__file__).resolve().parent.parent
AGENTS = Path(__file__).resolve().parent / "agents"
AGENT_BIN = Path(os.environ.get("SHIFTCTL_AGENT_BIN")
                 or ROOT / ".cache" / "node" / "agents" / "node_modules" / ".bin")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test Agent\n\temail = agent@test.invalid\n"
                                     "[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("SHIFTCTL_FAULT", raising=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
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


def agent_cli(name: str) -> str:
    """A real agent CLI (``claude``, ``codex``) as ``scripts/test.sh`` installs it: a test
    that needs a missing one is skipped, or fails where the run requires it (CI)."""
    path = AGENT_BIN / name
    if not path.exists():
        why = f"{path} is not installed (scripts/test.sh installs it from npm)"
        if os.environ.get("SHIFTCTL_REQUIRE_AGENTS") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return str(path)


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A scripted model API on 127.0.0.1; a test sets ``model_server.script``."""
    server = ModelServer().start()
    yield server
    server.stop()


def agent_argv(name: str, *extra: str) -> list[str]:
    """A scripted agent for the ``command`` profile."""
    return [sys.executable, str(AGENTS / name), "{prompt_file}", "{worktree}", *extra]


def opencode_profile(**env: str) -> dict[str, Any]:
    """A profile of kind ``opencode`` whose CLI is the scripted agent speaking opencode's
    JSON events: the way a scripted agent reports a cost from a read-only run, or a
    provider's rate limit (the ``command`` adapter reads neither)."""
    return {"kind": "opencode", "argv": [sys.executable, str(AGENTS / "scripted.py")],
            "env": {"AGENT_FORMAT": "opencode", **env}}


BASE_CONFIG: dict[str, Any] = {
    "base_branch": "main",
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
        return LocalTracker(self.root / ".shiftctl" / "tracker.db", self.root,
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

    def cycle(self) -> CycleResult:
        return run_cycle(self.config)

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

    def cli(self, *args: str, check: bool = True, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(self.root),
                               *args], capture_output=True, text=True, input=input,
                              env=env or dict(os.environ), timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"shiftctl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# target\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(make_repo(tmp_path / "repo"))
    p.configure()
    yield p
    _end_workers(p)


def _end_workers(p: Project) -> None:
    """No test leaves a worker behind."""
    db = p.root / ".shiftctl" / "state.db"
    if not db.exists():
        return
    from shiftctl.admin.steps.dispatch import terminate
    s = Store.open(db, readonly=True)
    try:
        runs = s.open_runs()
    finally:
        s.close()
    terminate(*runs, grace=1.0)


# The GitHub tracker's fixtures (a fake GitHub); imported last, as they build on the above.
from github_env import any_project, gh_project, github  # noqa: E402,F401
