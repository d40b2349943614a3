"""Workers die: the next cycle notices, records the crash and retries the task."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from admin.snapshot import process_alive
from conftest import Project, agent_argv


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_sigkilled_worker_is_recorded_as_crashed_and_retried(project: Project, tmp_path) -> None:
    once = tmp_path / "first-attempt"
    project.configure(agents={"default": "slow", "profiles": {"slow": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "60", "AGENT_SLEEP_ONCE": str(once),
                "AGENT_WRITE": "done.txt:done"}}}})
    n = project.file_issue("Slow", "- [ ] slow work\n")
    while project.cycle().rung != "assign":
        pass
    run = project.runs(n)[0]
    wait_for(once.exists)
    agent_pid = int(once.read_text())
    os.kill(run.pid, signal.SIGKILL)  # the worker only, as an OOM killer would
    wait_for(lambda: not process_alive(run.pid, run.pid_start))

    result = project.cycle()
    assert result.rung == "unblock"
    assert any("crashed" in a for a in result.actions)
    crashed = project.runs(n)[0]
    assert crashed.outcome == "crashed" and crashed.ended_at is not None
    assert "without writing result.json" in crashed.error
    wait_for(lambda: not process_alive(agent_pid, None), timeout=10)  # its silent agent too
    task = project.tasks(n)["t1"]
    assert task.state == "retry" and task.attempts == 1

    project.run()
    assert project.tasks(n)["t1"].state == "done"
    runs = project.runs(n)
    assert [r.outcome for r in runs] == ["crashed", "succeeded"]
    assert Path(project.root / ".shiftctl").exists()


def test_corrupt_result_is_a_failed_run_not_a_crashed_admin(project: Project, tmp_path) -> None:
    once = tmp_path / "first"
    project.configure(agents={"default": "slow", "profiles": {"slow": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "60", "AGENT_TICK": "0.5", "AGENT_SLEEP_ONCE": str(once),
                "AGENT_WRITE": "x.txt:x"}}}})
    n = project.file_issue("Corrupt", "- [ ] work\n")
    while project.cycle().rung != "assign":
        pass
    run = project.runs(n)[0]
    wait_for(once.exists)
    from admin.dispatch import terminate
    terminate(run, grace=0.5)
    (Path(run.run_dir) / "result.json").write_text('{"outcome": "succ')  # partial write
    result = project.cycle()
    assert result.rung == "unblock" and not result.errors
    first = project.runs(n)[0]
    assert first.outcome == "failed" and "not valid JSON" in first.error
    project.run()
    assert project.tasks(n)["t1"].state == "done"
