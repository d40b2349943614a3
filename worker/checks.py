"""Quality checks: the configured commands, run in the worktree after the agent."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shiftctl.system.fs import tail
from shiftctl.system.proc import run_process
from shiftctl.system.sandbox import Wrap, unwrapped
from shiftctl.worker.spec import CheckSpec

OUTPUT_TAIL = 4000


def run_checks(checks: list[CheckSpec], *, worktree: Path, env: dict[str, str],
               log: IO[bytes], wrap: Wrap = unwrapped,
               on_start: Callable[[int], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> list[dict[str, Any]]:
    """Run in the agent's sandbox when it has one: checks execute the agent's code.
    ``on_start`` gets each check's process group; ``should_stop`` ends the running one."""
    results = []
    for check in checks:
        log.write(f"\n[shiftctl] check {check.name}: {check.run}\n".encode())
        proc = run_process(wrap(["bash", "-c", "exec 2>&1\n" + check.run]), cwd=worktree,
                           env=env, log=log, timeout=check.timeout, on_start=on_start,
                           should_stop=should_stop)
        passed = proc.how == "exited" and proc.exit_code == 0
        output = proc.stdout
        if proc.how != "exited":
            output += f"\n[check {proc.how.replace('_', ' ')} after {proc.duration:.0f}s]"
        results.append({"name": check.name, "passed": passed, "exit_code": proc.exit_code,
                        "output": tail(output, OUTPUT_TAIL),
                        "duration_s": round(proc.duration, 3)})
    return results
