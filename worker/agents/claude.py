"""The ``claude`` agent: Claude Code headless, ``claude -p --output-format stream-json``.

Every stream event is output, so the stall timer measures silence, not total time. The
prompt goes in on stdin (never argv: it would show in ``ps`` and hit argv limits). The last
event, ``result``, carries what we record: ``is_error``, the ``result`` text (with its fenced
``shiftctl`` block), ``total_cost_usd``, ``usage``, ``num_turns``, ``session_id``.

Permissions: Claude Code refuses ``--dangerously-skip-permissions`` (and
``--permission-mode bypassPermissions``) as root. ``--permission-mode acceptEdits`` with an
``--allowedTools`` list that names ``Bash`` lets it edit files and run commands in the
worktree both as root and as a normal user, with nothing asked; tools not listed are denied.
A read-only run (planner, reviewer) gets ``dontAsk`` and read-only tools only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shiftctl.worker.agents import AgentContext, AgentOutcome, auth, outcome_from_proc, reading
from shiftctl.worker.agents.limits import is_provider_status, mentions_limit, reset_time
from shiftctl.worker.progress import Progress
from shiftctl.worker.spec import AgentSpec

WORK_TOOLS = ("Bash", "Edit", "MultiEdit", "Write", "Read", "Glob", "Grep", "NotebookEdit",
              "TodoWrite")
READ_ONLY_TOOLS = ("Read", "Glob", "Grep", "Bash(git diff:*)", "Bash(git log:*)",
                   "Bash(git show:*)", "Bash(git status:*)", "Bash(ls:*)", "Bash(cat:*)")
WRITE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
# Quiet, offline-friendly defaults; a profile's ``env`` overrides any of them.
ENV_DEFAULTS = {
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    # Claude Code retries a failing request itself (10 times by default, honouring
    # retry-after): a few retries ride out a blip; a longer limit is the admin's to wait out
    # (cooldown, fallback profile) instead of a worker sitting silent.
    "CLAUDE_CODE_MAX_RETRIES": "2",
}


def argv(agent: AgentSpec) -> list[str]:
    cmd = list(agent.argv) or ["claude"]
    cmd += ["-p", "--output-format", "stream-json", "--verbose"]
    if agent.model:
        cmd += ["--model", agent.model]
    if agent.max_turns:
        cmd += ["--max-turns", str(agent.max_turns)]
    if agent.read_only:
        cmd += ["--permission-mode", agent.permission_mode or "dontAsk",
                "--allowedTools", ",".join(agent.allowed_tools or READ_ONLY_TOOLS),
                "--disallowedTools", ",".join(WRITE_TOOLS)]
    else:
        cmd += ["--permission-mode", agent.permission_mode or "acceptEdits",
                "--allowedTools", ",".join(agent.allowed_tools or WORK_TOOLS)]
    return cmd


def failure_kind(result: dict[str, Any], text: str) -> str:
    """What an error result is, in words: ``not logged in`` (no or a refused credential),
    or Claude Code's subtype (``error_max_turns``, ...). Claude Code says ``success`` as the
    subtype of an error result whose request failed: that word is never reported."""
    if auth.refused(text):
        return "not logged in"
    subtype = str(result.get("subtype") or "")
    return subtype if subtype and subtype != "success" else "error"


@dataclass
class Stream:
    """Folds Claude Code's stream-json events into what the run reports."""
    session_id: str = ""
    model: str = ""
    result: dict[str, Any] | None = None
    last_text: str = ""
    tool_calls: int = 0
    retries: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    progress: Progress = field(default_factory=Progress)  # so far, for the heartbeat

    def feed(self, line: str) -> None:
        event = reading.event(line)
        if event is None:
            return
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.session_id = str(event.get("session_id") or "")
            self.model = str(event.get("model") or "")
        elif kind == "system" and event.get("subtype") == "api_retry":
            self.retries.append(event)
            self.progress.note(f"API retry ({event.get('error_status') or 'error'})")
        elif kind == "assistant":
            message = reading.mapping(event.get("message"))
            self._count(reading.mapping(message.get("usage")))
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    self.tool_calls += 1
                    self.progress.note(_tool_line(block))
                elif isinstance(block, dict) and block.get("type") == "text":
                    self.last_text = str(block.get("text") or "")
                    self.progress.note(self.last_text)
        elif kind == "result":
            self.result = event
            self.progress.cost_usd = reading.number(event.get("total_cost_usd"))
            self.progress.turns = reading.count(event.get("num_turns")) or self.progress.turns

    def _count(self, usage: dict[str, Any]) -> None:
        """One assistant message's usage, added to what the run used so far."""
        p = self.progress
        p.turns += 1
        p.tokens_in += sum(reading.count(usage.get(k)) for k in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        p.tokens_out += reading.count(usage.get("output_tokens"))

    def outcome(self, proc_outcome: AgentOutcome) -> AgentOutcome:
        out = proc_outcome
        res = self.result or {}
        usage = reading.mapping(res.get("usage"))
        out.tokens_in = sum(reading.count(usage.get(k)) for k in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        out.tokens_out = reading.count(usage.get("output_tokens"))
        out.cost_usd = reading.number(res.get("total_cost_usd"))
        denials = res.get("permission_denials")
        out.extra = {"session_id": str(res.get("session_id") or self.session_id),
                     "num_turns": reading.count(res.get("num_turns")), "model": self.model,
                     "usage": usage, "tool_calls": self.tool_calls,
                     "permission_denials": len(denials) if isinstance(denials, list) else 0,
                     "api_retries": len(self.retries)}
        if out.how != "exited":  # timed out, stalled or stopped: proc's verdict stands
            return out
        text = str(res.get("result") or "")
        if not self.result:
            out.final_text = self.last_text
            out.error = f"claude ended without a result event (exit code {out.exit_code})"
            return out
        if not res.get("is_error"):
            out.final_text = text
            out.error = ""
            return out
        status = res.get("api_error_status")
        status = status if isinstance(status, int) else None
        out.final_text = ""
        out.error = f"claude: {failure_kind(res, text)}: {text[:1000]}".rstrip(": ")
        if is_provider_status(status) or (status is None and mentions_limit(text)):
            out.rate_limited = True
            out.rate_limit_reset = reset_time(text) or self._retry_hint()
        else:
            out.unauthenticated = auth.refused(text, status)
        return out

    def _retry_hint(self) -> float | None:
        """The provider's own retry-after on a 429, as Claude Code reported it before giving
        up (its delays after a 5xx are its own backoff, not a reset time)."""
        delays = [reading.number(r["retry_delay_ms"]) for r in self.retries
                  if r.get("error_status") == 429
                  and isinstance(r.get("retry_delay_ms"), (int, float))]
        return time.time() + max(delays) / 1000.0 if delays else None


def _tool_line(block: dict[str, Any]) -> str:
    """``Bash: pytest -q``: a tool call as one line of activity."""
    args = reading.mapping(block.get("input"))
    detail = next((str(args[k]) for k in ("command", "file_path", "pattern", "path")
                   if isinstance(args.get(k), str)), "")
    return f"{block.get('name') or 'tool'}: {detail}".rstrip(": ")


class ClaudeAgent:
    def run(self, ctx: AgentContext) -> AgentOutcome:
        for key, value in ENV_DEFAULTS.items():
            ctx.env.setdefault(key, value)
        stream = Stream(progress=ctx.progress)
        proc = ctx.run(argv(ctx.spec.agent), stdin_path=ctx.prompt_file, on_line=stream.feed)
        return stream.outcome(outcome_from_proc(proc, final_text=""))
