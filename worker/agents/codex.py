"""The ``codex`` agent: OpenAI Codex CLI, ``codex exec --json`` (JSONL events on stdout).

Every event is output, so the stall timer measures silence. The prompt goes in on stdin
(``exec -``). The final message is the last ``agent_message`` item; tokens come from
``turn.completed`` usage (Codex reports no cost: set the profile's ``usd_per_mtok_in`` /
``usd_per_mtok_out`` for budgets to see one); a failed turn ends in ``turn.failed``.

Settings (checked against codex 0.169): ``--sandbox workspace-write`` lets it edit and run
commands in the worktree, as root and as a normal user, with the network closed and ``.git``
read-only (the worker commits); a read-only run gets ``--sandbox read-only``. Plugins and
analytics are off, so nothing but the model API is contacted, and connection retries are
bounded. Commands it runs do not see variables named like keys, tokens or secrets. Codex
refuses to set up its sandbox helpers when ``CODEX_HOME`` (default ``~/.codex``) is under
``/tmp``: give such a profile ``env: {CODEX_HOME: /some/other/dir}``.

Inside shiftctl's bwrap sandbox Codex's own sandbox (a nested bwrap with seccomp) still
works: the agent runs as an unprivileged user there, so Codex can map its own user namespace
without capabilities. Its state goes to the run's private HOME (``CODEX_HOME`` set to
``~/.codex`` there) unless the profile's ``env`` names one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.worker.agents import AgentContext, AgentOutcome, auth, outcome_from_proc, reading
from shiftctl.worker.agents.limits import is_provider_status, mentions_limit, reset_time
from shiftctl.worker.progress import Progress
from shiftctl.worker.spec import AgentSpec

QUIET = ("--disable", "plugins", "-c", "analytics.enabled=false",
         "--disable", "unbounded_connection_retries",
         "-c", "shell_environment_policy.ignore_default_excludes=false")
_LAST_STATUS = re.compile(r"last status: (\d{3})")
# Codex's words when the provider, not the task, failed: overload and broken streams.
_OUTAGE = re.compile(r"high demand|stream disconnected|server_error|service unavailable",
                     re.IGNORECASE)


def argv(agent: AgentSpec) -> list[str]:
    cmd = [*(agent.argv or ["codex"]), "exec", "--json", *QUIET,
           "--sandbox", "read-only" if agent.read_only else "workspace-write"]
    if agent.model:
        cmd += ["--model", agent.model]
    return [*cmd, "-"]


@dataclass
class Stream:
    """Folds ``codex exec --json`` events into what the run reports."""
    thread_id: str = ""
    last_text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    completed: bool = False
    items: int = 0
    commands: int = 0
    retries: int = 0
    progress: Progress = field(default_factory=Progress)  # so far, for the heartbeat

    def feed(self, line: str) -> None:
        event = reading.event(line)
        if event is None:
            return
        kind = event.get("type")
        item = reading.mapping(event.get("item"))
        if kind == "thread.started":
            self.thread_id = str(event.get("thread_id") or "")
        elif kind == "item.completed":
            self.items += 1
            if item.get("type") == "agent_message":
                self.last_text = str(item.get("text") or "")
                self.progress.note(self.last_text)
            elif item.get("type") in ("command_execution", "file_change"):
                self.commands += 1
                self.progress.note(f"{item.get('type')}: {item.get('command') or ''}")
        elif kind == "turn.completed":
            self.completed = True
            self.failure = ""
            if isinstance(event.get("usage"), dict):
                self.usage = event["usage"]
                self.progress.turns += 1
                self.progress.tokens_in = reading.count(self.usage.get("input_tokens"))
                self.progress.tokens_out = reading.count(self.usage.get("output_tokens"))
        elif kind == "turn.failed":
            err = event.get("error")
            self.failure = str((err.get("message") if isinstance(err, dict) else err)
                               or "turn failed")
        elif kind == "error" and str(event.get("message") or "").startswith("Reconnecting"):
            self.retries += 1

    def outcome(self, out: AgentOutcome) -> AgentOutcome:
        usage = self.usage
        out.tokens_in = reading.count(usage.get("input_tokens"))
        out.tokens_out = reading.count(usage.get("output_tokens"))
        out.extra = {"thread_id": self.thread_id, "usage": usage, "items": self.items,
                     "commands": self.commands, "retries": self.retries}
        if out.how != "exited":
            return out
        if self.failure:
            out.final_text = ""
            out.error = f"codex: {self.failure[:1000]}"
            status = _LAST_STATUS.search(self.failure)
            if (status and is_provider_status(int(status.group(1)))) or \
                    mentions_limit(self.failure) or _OUTAGE.search(self.failure):
                out.rate_limited = True
                out.rate_limit_reset = reset_time(self.failure)
            else:
                out.unauthenticated = auth.refused(
                    self.failure, int(status.group(1)) if status else None)
            return out
        out.final_text = self.last_text
        if not self.completed:
            out.error = out.error or ("codex ended without turn.completed "
                                      f"(exit code {out.exit_code})")
        return out


def codex_home(ctx: AgentContext) -> list[Path]:
    """Sandboxed, Codex keeps its state in the run's private HOME, unless the profile's
    ``env`` names a CODEX_HOME (to share a ``codex login``): that one is made writable.
    Returns what the sandbox must let it write."""
    if ctx.home is None:
        return []
    named = ctx.spec.agent.env.get("CODEX_HOME")
    if named:
        return [Path(named)]
    home = ctx.home / ".codex"
    home.mkdir(exist_ok=True)  # Codex refuses a CODEX_HOME that does not exist
    ctx.env["CODEX_HOME"] = str(home)
    return []


class CodexAgent:
    def run(self, ctx: AgentContext) -> AgentOutcome:
        stream = Stream(progress=ctx.progress)
        writable = codex_home(ctx)
        proc = ctx.run(argv(ctx.spec.agent), stdin_path=ctx.prompt_file, on_line=stream.feed,
                       writable=writable)
        return stream.outcome(outcome_from_proc(proc, final_text=""))
