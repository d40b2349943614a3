"""The ``command`` agent: any argv, with ``{prompt_file}`` and ``{worktree}`` placeholders.

Without ``{prompt_file}`` in argv the prompt arrives on stdin. The final fenced
``shiftctl`` block of its stdout is its status report.
"""
from __future__ import annotations

from shiftctl.worker.agents import AgentContext, AgentOutcome, outcome_from_proc


def expand(argv: list[str], values: dict[str, str]) -> list[str]:
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


class CommandAgent:
    def run(self, ctx: AgentContext) -> AgentOutcome:
        spec = ctx.spec
        values = {"prompt_file": str(ctx.prompt_file), "worktree": str(ctx.worktree),
                  "run_dir": spec.run_dir, "model": spec.agent.model or ""}
        argv = expand(spec.agent.argv, values)
        uses_file = any("{prompt_file}" in a for a in spec.agent.argv)
        proc = ctx.run(argv, stdin_path=None if uses_file else ctx.prompt_file)
        return outcome_from_proc(proc)
