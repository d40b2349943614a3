"""One task attempt: worktree, agent, leftover commit, checks, ``result.json``.

A read-only run (the agent planner, the reviewer) gets a detached checkout instead, commits
nothing, runs no checks, and reports the agent's final message as its answer.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from shiftctl.system import git, sandbox
from shiftctl.system.env import build_env
from shiftctl.system.fs import atomic_write, wake
from shiftctl.worker import agents
from shiftctl.worker.agents import AgentContext, AgentOutcome
from shiftctl.worker.checks import run_checks
from shiftctl.worker.result import (
    MAX_ANSWER,
    Result,
    ResultError,
    StatusBlock,
    parse_status_block,
    write,
)
from shiftctl.worker.spec import Spec


class Heartbeat:
    """Touches ``heartbeat`` every few seconds; the admin's lease is renewed by it."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self.phase = "start"
        self.agent_pid: int | None = None
        self.last_output = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def set(self, phase: str) -> None:
        self.phase = phase
        self.last_output = time.time()
        self.beat()

    def output(self) -> None:
        self.last_output = time.time()

    def beat(self) -> None:
        data = {"ts": time.time(), "pid": os.getpid(), "phase": self.phase,
                "agent_pid": self.agent_pid, "last_output": self.last_output}
        try:
            atomic_write(self.path, json.dumps(data), durable=False)  # liveness, not a record
        except OSError:
            pass  # a missing run dir must not kill the attempt; the admin will notice

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()


def prepare_worktree(spec: Spec) -> str:
    """Create or reset the attempt's worktree; returns the SHA the attempt's diff starts at."""
    repo, wt = Path(spec.repo), Path(spec.worktree)
    git.worktree(repo, "prune", check=False)
    keep = spec.keep_branch and git.branch_exists(repo, spec.branch)
    if git.is_worktree(wt):
        git.clean_reset(wt)
        if keep:
            git.run(wt, "checkout", "-q", "-f", spec.branch)
        else:
            git.run(wt, "checkout", "-q", "-f", "-B", spec.branch, spec.base_sha)
    else:
        if wt.exists():
            shutil.rmtree(wt)
        wt.parent.mkdir(parents=True, exist_ok=True)
        if keep:
            git.add_worktree(repo, wt, spec.branch, "-f")
        else:
            git.add_worktree(repo, wt, spec.base_sha, "-f", "-B", spec.branch)
    if keep and not git.is_ancestor(wt, spec.base_sha, "HEAD"):
        # Continue from the earlier attempt's commits, on top of what has been integrated since.
        proc = git.run(wt, *git.IDENTITY, "merge", "--no-edit", "-q", spec.base_sha, check=False)
        if proc.returncode != 0:
            git.run(wt, "merge", "--abort", check=False)
            git.run(wt, "reset", "-q", "--hard", spec.base_sha)
    return spec.base_sha


def prepare_checkout(spec: Spec) -> None:
    """A detached checkout of ``base_sha`` for a read-only run (planner, reviewer)."""
    wt = Path(spec.worktree)
    git.remove_worktree(spec.repo, wt)  # a crashed run's leftover, and stale entries
    wt.parent.mkdir(parents=True, exist_ok=True)
    git.add_worktree(spec.repo, wt, spec.base_sha, "-f", "--detach")


def _agent_failed(agent: AgentOutcome) -> tuple[str, str] | None:
    """The outcomes decided by how the agent process ended, before anything it said."""
    if agent.rate_limited:
        return "rate_limited", agent.error or "agent hit a rate or usage limit"
    if agent.how in ("timed_out", "stalled"):
        return agent.how, agent.error
    if agent.how == "killed":
        return "failed", "attempt terminated"
    return None


def decide(agent: AgentOutcome, block: StatusBlock | None, block_error: str,
           commits: list[str]) -> tuple[str, str]:
    """(outcome, error) from what the agent did and said. Pure."""
    ended = _agent_failed(agent)
    if ended:
        return ended
    if block_error:
        return "failed", f"malformed final output: {block_error}"
    if block and block.status == "blocked":
        return "blocked", ""
    if block and block.status == "needs_breakdown":
        return "needs_breakdown", ""
    if agent.error or agent.exit_code not in (0, None):
        return "failed", agent.error or f"agent exited with code {agent.exit_code}"
    if not commits:
        return "failed", "the agent changed nothing (no commits): not a success"
    return "succeeded", ""


def decide_read(agent: AgentOutcome) -> tuple[str, str]:
    """A read-only run succeeds when the agent ended well and answered. Pure."""
    ended = _agent_failed(agent)
    if ended:
        return ended
    if agent.error or agent.exit_code not in (0, None):
        return "failed", agent.error or f"agent exited with code {agent.exit_code}"
    if not agent.final_text.strip():
        return "failed", "the agent gave no answer"
    return "succeeded", ""


def _usage_block(text: str) -> StatusBlock | None:
    """A read-only run's answer is its JSON, not a status block; a ``command`` agent may
    still end with one to report what it used (tokens, cost), so budgets see it."""
    try:
        return parse_status_block(text)
    except ResultError:
        return None


class Attempt:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.stopping = False
        self.heartbeat = Heartbeat(spec.dir / "heartbeat", spec.heartbeat_s)
        self.result = Result(outcome="failed", started_at=time.time())

    def _on_term(self, signum: int, _frame: Any) -> None:
        self.stopping = True

    def _agent_started(self, pid: int) -> None:
        self.heartbeat.agent_pid = pid
        if not self.result.agent_started_at:
            self.result.agent_started_at = time.time()
        self.heartbeat.beat()

    def _sandbox(self, wt: Path) -> Callable[[Sequence[str]], list[str]]:
        """The argv wrapper for the agent and its checks; refuses rather than runs bare."""
        spec = self.spec
        return sandbox.wrapper(spec.agent.sandbox, wt,
                               read_only=[Path(spec.repo) / ".git", spec.dir])

    def _agent(self, wt: Path, env: dict[str, str], log: IO[bytes],
               wrap: Callable[[Sequence[str]], list[str]]) -> AgentOutcome:
        spec = self.spec
        self.heartbeat.set("agent")
        ctx = AgentContext(spec=spec, worktree=wt, env=env, prompt_file=Path(spec.prompt_file),
                           log=log, deadline=time.monotonic() + spec.agent.task_timeout,
                           on_output=self.heartbeat.output, on_start=self._agent_started,
                           should_stop=lambda: self.stopping, wrap=wrap)
        agent = agents.get(spec.agent.kind).run(ctx)
        self.result.agent_ended_at = time.time()
        self.result.agent_started_at = self.result.agent_started_at or self.result.agent_ended_at
        return agent

    def _work(self, env: dict[str, str], log: IO[bytes]) -> tuple[AgentOutcome, StatusBlock | None]:
        spec, res = self.spec, self.result
        base = prepare_worktree(spec)
        wt = Path(spec.worktree)
        wrap = self._sandbox(wt)
        agent = self._agent(wt, env, log, wrap)
        self.heartbeat.set("commit")
        git.commit_all(wt, spec.commit_message or f"shiftctl: {spec.task.title}")
        res.commits = git.commits_between(wt, base)
        res.files_changed = git.files_between(wt, base) if res.commits else []
        block, block_error = None, ""
        try:
            block = parse_status_block(agent.final_text)
        except ResultError as exc:
            block_error = str(exc)
        res.outcome, res.error = decide(agent, block, block_error, res.commits)
        if res.outcome == "succeeded" and spec.checks and not self.stopping:
            self.heartbeat.set("checks")
            res.checks = run_checks(spec.checks, worktree=wt, env=env, log=log, wrap=wrap)
        return agent, block

    def _read(self, env: dict[str, str], log: IO[bytes]) -> AgentOutcome:
        """Look, answer, change nothing: whatever the agent changed is thrown away."""
        spec, res = self.spec, self.result
        prepare_checkout(spec)
        wt = Path(spec.worktree)
        try:
            agent = self._agent(wt, env, log, self._sandbox(wt))
            changed = git.out(wt, "status", "--porcelain")
            if changed or git.rev(wt, "HEAD") != spec.base_sha:
                res.extra["discarded_changes"] = changed.splitlines()[:50]
                log.write(b"\n[shiftctl] read-only run changed files; discarded\n")
        finally:
            git.remove_worktree(spec.repo, wt)
        res.outcome, res.error = decide_read(agent)
        res.final_text = agent.final_text[:MAX_ANSWER]
        return agent

    def run(self) -> Result:
        signal.signal(signal.SIGTERM, self._on_term)
        spec, res = self.spec, self.result
        self.heartbeat.start()
        try:
            self.heartbeat.set("worktree")
            env = build_env(os.environ, spec.agent.pass_env, spec.agent.env)
            with open(spec.dir / "agent.log", "ab") as log:
                block = None
                if spec.mode == "read":
                    agent = self._read(env, log)
                    block = _usage_block(agent.final_text)
                else:
                    agent, block = self._work(env, log)
            res.exit_code = agent.exit_code
            res.tokens_in = agent.tokens_in + (block.tokens_in if block else 0)
            res.tokens_out = agent.tokens_out + (block.tokens_out if block else 0)
            res.cost_usd = agent.cost_usd + (block.cost_usd if block else 0.0)
            res.rate_limit_reset = agent.rate_limit_reset
            res.extra.update(agent.extra)
            if block:
                res.summary, res.question = block.summary, block.question
                res.subtasks, res.learnings = block.subtasks, block.learnings
        except Exception as exc:  # the attempt fails; the worker still reports
            res.outcome = "failed"
            res.error = f"worker error: {type(exc).__name__}: {exc}"[:4000]
            try:
                with open(spec.dir / "agent.log", "ab") as log:
                    log.write(traceback.format_exc().encode())
            except OSError:
                pass
        finally:
            self.heartbeat.stop()
        res.ended_at = time.time()
        return res


def main(spec_path: Path) -> int:
    spec = Spec.load(spec_path)
    result = Attempt(spec).run()
    write(spec.dir / "result.json", result)
    if spec.wake_file:
        try:
            wake(Path(spec.wake_file), "worker")
        except OSError:
            pass
    return 0
