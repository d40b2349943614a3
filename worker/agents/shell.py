"""The ``shell`` agent: runs the task body's fenced ``sh`` blocks with ``bash -e``.

Offline and deterministic: the demo and many tests use it. It reads the task, not the
prompt, so what it does never depends on a model.
"""
from __future__ import annotations

import re

from shiftctl.worker.agents import AgentContext, AgentOutcome, outcome_from_proc

_FENCE = re.compile(r"^[ \t]*```(?:sh|bash|shell)[ \t]*\n(.*?)^[ \t]*```[ \t]*$",
                    re.DOTALL | re.MULTILINE)


def shell_blocks(body: str) -> list[str]:
    return [m.group(1) for m in _FENCE.finditer(body or "")]


class ShellAgent:
    def run(self, ctx: AgentContext) -> AgentOutcome:
        blocks = shell_blocks(ctx.spec.task.body)
        if not blocks:
            return AgentOutcome(exit_code=None, how="exited",
                                error="the task body has no ```sh block for the shell agent")
        outputs = []
        for i, block in enumerate(blocks, 1):
            script = ctx.spec.dir / f"step-{i}.sh"
            script.write_text(block, encoding="utf-8")
            ctx.log.write(f"[shiftctl] shell step {i}/{len(blocks)}\n".encode())
            proc = ctx.run(["bash", "-e", str(script)])
            outputs.append(proc.stdout)
            if proc.how != "exited" or proc.exit_code:
                return outcome_from_proc(proc, "".join(outputs))
        return AgentOutcome(exit_code=0, final_text="".join(outputs))
