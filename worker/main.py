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
from pathlib import Path
from typing import IO, Any

from shiftctl.system import git, proc, sandbox
from shiftctl.system.env import build_env
from shiftctl.system.fs import LinkedPathError, atomic_write, check_unlinked, wake
from shiftctl.worker import agents, tamper
from shiftctl.worker.agents import AgentContext, AgentOutcome
from shiftctl.worker.checks import run_checks
from shiftctl.worker.progress import Progress
from shiftctl.worker.result import (
    MAX_ANSWER,
    Result,
    ResultError,
    StatusBlock,
    parse_status_block,
    write,
)
from shiftctl.worker.spec import Spec, SpecError


class Heartbeat:
    """Touches ``heartbeat`` every few seconds; the admin's lease is renewed by it."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self.phase = "start"
        self.agent_pid: int | None = None
        self.last_output = time.time()
        self.progress: Progress | None = None  # the running agent's, while there is one
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
        if self.progress is not None:
            data["progress"] = self.progress.to_json()
        try:
            atomic_write(self.path, json.dumps(data), durable=False)  # liveness, not a record
        except OSError:
            pass  # a missing run dir must not kill the attempt; the admin will notice

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()


def claim_path(spec: Spec) -> Path:
    """The attempt's worktree path, refused when it is or passes through a symbolic link: a
    link there (an agent can plant one from its own worktree) would have this worker clean,
    check out and work in whatever it points at. A link in the last place is removed (as a
    link, never followed) so that the next attempt finds the place free."""
    repo, wt = Path(spec.repo), Path(spec.worktree)
    if wt.is_symlink():
        try:
            target = os.readlink(wt)
            wt.unlink()  # (maintenance may have removed it a moment ago)
        except FileNotFoundError:
            target = "?"
        raise LinkedPathError(f"the worktree path {wt} was a symbolic link (to {target!r}); "
                              "shiftctl never works, cleans or deletes through one, so this "
                              "attempt did not start. The link itself was removed (its target "
                              "untouched): the next attempt starts clean")
    check_unlinked(repo, wt)
    return wt


def prepare_worktree(spec: Spec) -> tuple[git.Tree, str]:
    """Create or reset the attempt's worktree: (its tree, the SHA the attempt's diff starts
    at). An existing one is reused only when git's records and its ``.git`` file agree."""
    repo, wt = Path(spec.repo), claim_path(spec)
    git.worktree(repo, "prune", check=False)
    pin_kept_branch(spec)
    keep = spec.keep_branch and git.branch_exists(repo, spec.branch)
    tree = git.find_worktree(repo, wt, intact=True)
    if tree is not None and wt.is_dir():
        git.clean_reset(tree)
        if keep:
            git.run(tree, "checkout", "-q", "-f", spec.branch)
        else:
            git.run(tree, "checkout", "-q", "-f", "-B", spec.branch, spec.base_sha)
    elif keep:
        tree = git.fresh_worktree(repo, wt, spec.branch, "-f")
    else:
        tree = git.fresh_worktree(repo, wt, spec.base_sha, "-f", "-B", spec.branch)
    if keep and not git.is_ancestor(tree, spec.base_sha, "HEAD"):
        # Continue from the earlier attempt's commits, on top of what has been integrated since.
        proc = git.run(tree, *git.IDENTITY, "merge", "--no-edit", "-q", spec.base_sha,
                       check=False)
        if proc.returncode != 0:
            git.run(tree, "merge", "--abort", check=False)
            git.run(tree, "reset", "-q", "--hard", spec.base_sha)
    return tree, spec.base_sha


def pin_kept_branch(spec: Spec) -> None:
    """A retry that keeps its branch starts from the commit review saw, not from wherever the
    branch points now (another agent may have moved it)."""
    if spec.keep_branch and spec.keep_head and git.rev(spec.repo, spec.keep_head):
        git.run(spec.repo, "update-ref", f"refs/heads/{spec.branch}", spec.keep_head)


def sandbox_for(spec: Spec, wt: Path, env: dict[str, str], homes: list[Path],
                home: str = "home") -> sandbox.Wrap:
    """The argv wrapper for an agent, or for checks (they run agents' code; with a fresh
    HOME of their own, so nothing the agent left in its HOME can steer them), the same for
    work, read and verify runs; it refuses rather than runs bare. Each private HOME made is
    appended to ``homes`` (for ``remove_home``)."""
    agent = spec.agent

    def box() -> sandbox.Box:
        path = make_home(spec.dir / home)
        homes.append(path)
        return sandbox.make_box(wt, path, env,
                                read_only=[Path(spec.repo) / ".git", spec.dir],
                                hide=[*agent.sandbox_hide, *spec.hidden],
                                expose=agent.sandbox_expose,
                                sealed=[git.common_dir(Path(spec.repo))])
    return sandbox.wrapper(agent.sandbox, box)


def prepare_checkout(spec: Spec) -> git.Tree:
    """A detached checkout of ``base_sha`` for a read-only run (planner, reviewer)."""
    return git.fresh_worktree(spec.repo, claim_path(spec), spec.base_sha, "-f", "--detach")


def make_home(home: Path) -> Path:
    """A private, writable HOME in the run directory (not under /tmp, where Codex will not
    keep its state), fresh for every attempt."""
    if home.exists():
        remove_home(home)
    home.mkdir(mode=0o700)
    return home


def remove_home(home: Path) -> None:
    """Whatever the agent left there, however it set the modes (never following links)."""
    def unlock(func: Any, path: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            func(path)
        except OSError:
            pass
    for root, dirs, _files in os.walk(home, followlinks=False):
        for d in dirs:
            p = os.path.join(root, d)
            if not os.path.islink(p):
                try:
                    os.chmod(p, 0o700)
                except OSError:
                    pass
    shutil.rmtree(home, onerror=unlock)


def _agent_failed(agent: AgentOutcome) -> tuple[str, str] | None:
    """The outcomes decided by how the agent process ended, before anything it said."""
    if agent.rate_limited:
        return "rate_limited", agent.error or "agent hit a rate or usage limit"
    if agent.unauthenticated:
        return "unauthenticated", agent.error or "the provider refused the agent's credentials"
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


class Stoppable:
    """What every run a worker makes shares: its spec, the heartbeat the admin leases it by, a
    result that says "failed" until the run proves otherwise, and a SIGTERM that asks it to
    stop (docs/design.md §5, "Stopping")."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.stopping = False
        self.heartbeat = Heartbeat(spec.dir / "heartbeat", spec.heartbeat_s)
        self.result = Result(outcome="failed", started_at=time.time())

    def _on_term(self, signum: int, _frame: Any) -> None:
        self.stopping = True


class Attempt(Stoppable):
    def __init__(self, spec: Spec) -> None:
        super().__init__(spec)
        self.homes: list[Path] = []  # private HOMEs of the agent and the checks (sandboxed)

    def _agent_started(self, pid: int) -> None:
        self.heartbeat.agent_pid = pid
        if not self.result.agent_started_at:
            self.result.agent_started_at = time.time()
        self.heartbeat.beat()

    def _sandbox(self, wt: Path, env: dict[str, str], home: str = "home") -> sandbox.Wrap:
        return sandbox_for(self.spec, wt, env, self.homes, home)

    def _agent(self, wt: Path, env: dict[str, str], log: IO[bytes],
               wrap: sandbox.Wrap) -> AgentOutcome:
        spec = self.spec
        self.heartbeat.set("agent")
        ctx = AgentContext(spec=spec, worktree=wt, env=env, prompt_file=Path(spec.prompt_file),
                           log=log, deadline=time.monotonic() + spec.agent.task_timeout,
                           on_output=self.heartbeat.output, on_start=self._agent_started,
                           should_stop=lambda: self.stopping, wrap=wrap,
                           home=self.homes[0] if self.homes else None)
        self.heartbeat.progress = ctx.progress
        agent = agents.get(spec.agent.kind).run(ctx)
        self.result.agent_ended_at = time.time()
        self.result.agent_started_at = self.result.agent_started_at or self.result.agent_ended_at
        return agent

    def _guarded(self, tree: git.Tree, env: dict[str, str], log: IO[bytes],
                 wrap: sandbox.Wrap) -> AgentOutcome:
        """The agent, between two fingerprints of the shared git dir. Anything it changed
        there makes the attempt ``tampered`` (and is undone) before any other git runs.
        A boxed agent cannot write there at all (``sandbox_for`` seals the git dir read-only),
        so what changes there meanwhile is a person's commit, tag or setting, or another
        tool's: it is neither fingerprinted nor undone."""
        if self.spec.agent.sandbox == "bwrap":
            return self._agent(tree.work_tree, env, log, wrap)
        guard = tamper.Guard(Path(self.spec.repo), self.spec.run_id, self.spec.dir, tree)
        guard.before()
        agent = self._agent(tree.work_tree, env, log, wrap)
        self.heartbeat.set("verify")
        found = guard.after()
        if found:
            self.result.outcome, self.result.tampering = "tampered", found
            self.result.error = ("the agent changed the repository's git setup outside its "
                                 "worktree: " + "; ".join(f"{f['what']} {f['change']}"
                                                          for f in found[:10]))[:4000]
            log.write(b"\n[shiftctl] tampering detected; nothing of this attempt is used\n")
        return agent

    def _work(self, env: dict[str, str], log: IO[bytes]) -> tuple[AgentOutcome, StatusBlock | None]:
        spec, res = self.spec, self.result
        tree, base = prepare_worktree(spec)
        wt = tree.work_tree
        wrap = self._sandbox(wt, env)
        agent = self._guarded(tree, env, log, wrap)
        if res.outcome == "tampered":
            return agent, _usage_block(agent.final_text)
        self.heartbeat.set("commit")
        # from here on, git works on the git dir and work tree this worker made, explicitly:
        # the worktree's .git (the agent's to rewrite) is never read
        git.commit_all(tree, spec.commit_message or f"shiftctl: {spec.task.title}")
        res.commits = git.commits_between(tree, base)
        res.files_changed = git.files_between(tree, base) if res.commits else []
        block, block_error = None, ""
        try:
            block = parse_status_block(agent.final_text)
        except ResultError as exc:
            block_error = str(exc)
        res.outcome, res.error = decide(agent, block, block_error, res.commits)
        if res.outcome == "succeeded" and spec.checks and not self.stopping:
            self.heartbeat.set("checks")
            res.checks = run_checks(spec.checks, worktree=wt, env=env, log=log,
                                    wrap=self._sandbox(wt, env, "check-home"))
        return agent, block

    def _read(self, env: dict[str, str], log: IO[bytes]) -> AgentOutcome:
        """Look, answer, change nothing: whatever the agent changed is thrown away."""
        spec, res = self.spec, self.result
        tree = prepare_checkout(spec)
        try:
            agent = self._guarded(tree, env, log, self._sandbox(tree.work_tree, env))
            if res.outcome != "tampered":
                changed = git.out(tree, "status", "--porcelain")
                if changed or git.rev(tree, "HEAD") != spec.base_sha:
                    res.extra["discarded_changes"] = changed.splitlines()[:50]
                    log.write(b"\n[shiftctl] read-only run changed files; discarded\n")
        finally:
            git.remove_worktree(spec.repo, tree.work_tree)
        if res.outcome == "tampered":
            return agent
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
            if self.heartbeat.progress is not None:
                res.extra.setdefault("turns", self.heartbeat.progress.turns)
            if block and res.outcome != "tampered":  # its usage counts, its words do not
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
            if res.outcome == "succeeded":  # a failed run's stay for debugging, with its run dir
                for home in self.homes:
                    remove_home(home)
        res.ended_at = time.time()
        return res


def refuse(spec_path: Path, why: str) -> int:
    """A spec the worker cannot follow: a failed result that says why, in the run directory
    the spec sits in (the admin collects it as any other failed run)."""
    now = time.time()
    write(spec_path.parent / "result.json",
          Result(outcome="failed", error=f"bad spec: {why}"[:4000], started_at=now, ended_at=now))
    return 0


def main(spec_path: Path) -> int:
    # orphans of the agent (a double fork, ``setsid`` or not) become ours, so the end of the
    # agent's run ends them too (docs/design.md §5)
    proc.become_subreaper()
    try:
        spec = Spec.load(spec_path)
    except SpecError as exc:
        return refuse(spec_path, str(exc))
    if spec.mode == "verify":
        from shiftctl.worker.verify import Verification
        result = Verification(spec).run()
    else:
        result = Attempt(spec).run()
    write(spec.dir / "result.json", result)
    if spec.wake_file:
        try:
            wake(Path(spec.wake_file), "worker")
        except OSError:
            pass
    return 0
