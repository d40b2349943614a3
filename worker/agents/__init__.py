"""Agent adapters: each turns a prompt and a worktree into an ``AgentOutcome``.

Adding a coding-agent CLI means adding a module here and a line in ``ADAPTERS``.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from shiftctl.system.proc import ProcResult, run_process
from shiftctl.system.sandbox import Wrap, unwrapped
from shiftctl.worker.progress import Progress
from shiftctl.worker.spec import AGENT_KINDS, Spec


@dataclass
class AgentOutcome:
    exit_code: int | None
    how: str = "exited"          # exited | timed_out | stalled | killed | not_found
    final_text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    error: str = ""
    rate_limited: bool = False
    rate_limit_reset: float | None = None
    unauthenticated: bool = False  # the provider refused the credentials (agents.auth)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentContext:
    spec: Spec
    worktree: Path
    env: dict[str, str]
    prompt_file: Path
    log: IO[bytes]
    deadline: float
    on_output: Callable[[], None]
    on_start: Callable[[int], None]
    should_stop: Callable[[], bool]
    wrap: Wrap = unwrapped
    home: Path | None = None  # the agent's private HOME when it runs sandboxed
    progress: Progress = field(default_factory=Progress)  # shown live through the heartbeat

    def run(self, argv: Sequence[str], *, stdin_path: Path | None = None,
            on_line: Callable[[str], None] | None = None,
            writable: Sequence[Path] = ()) -> ProcResult:
        """Run one agent process within what is left of the attempt's time; ``writable``:
        paths the sandbox, if any, must let it write besides its worktree and HOME. An
        adapter that reads a stream (``on_line``) reports progress itself; for the others,
        each line of output is the latest activity."""
        remaining = max(0.0, self.deadline - time.monotonic())
        return run_process(self.wrap(argv, writable), cwd=self.worktree, env=self.env, log=self.log,
                           timeout=remaining, stall_timeout=self.spec.agent.stall_timeout,
                           stdin_path=stdin_path, on_output=self.on_output,
                           on_line=on_line or self.progress.note,
                           on_start=self.on_start, should_stop=self.should_stop)


class Agent(Protocol):
    def run(self, ctx: AgentContext) -> AgentOutcome: ...


# kind -> "module:factory"; only the adapter a run uses is imported
ADAPTERS: dict[str, str] = {
    "shell": "shiftctl.worker.agents.shell:ShellAgent",
    "command": "shiftctl.worker.agents.command:CommandAgent",
    "claude": "shiftctl.worker.agents.claude:ClaudeAgent",
    "codex": "shiftctl.worker.agents.codex:CodexAgent",
    "aider": "shiftctl.worker.agents.templated:aider",
    "gemini": "shiftctl.worker.agents.templated:gemini",
    "opencode": "shiftctl.worker.agents.templated:opencode",
}
KINDS: tuple[str, ...] = AGENT_KINDS
assert set(ADAPTERS) == set(AGENT_KINDS), "an agent kind without an adapter"


def get(kind: str) -> Agent:
    if kind not in ADAPTERS:
        raise LookupError(f"agent kind {kind!r} is not available in this shiftctl "
                          f"(available: {', '.join(sorted(ADAPTERS))})")
    module, _, name = ADAPTERS[kind].partition(":")
    factory: Callable[[], Agent] = getattr(importlib.import_module(module), name)
    return factory()


def outcome_from_proc(proc: ProcResult, final_text: str | None = None) -> AgentOutcome:
    error = ""
    if proc.how == "not_found":
        error = "agent command not found"
    elif proc.how != "exited":
        error = f"agent {proc.how.replace('_', ' ')}"
    elif proc.exit_code:
        error = f"agent exited with code {proc.exit_code}"
    return AgentOutcome(exit_code=proc.exit_code, how=proc.how,
                        final_text=proc.stdout if final_text is None else final_text,
                        error=error)
