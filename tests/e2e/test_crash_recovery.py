"""Workers die: the next cycle notices, records the crash and retries the task."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from shiftctl.admin.launchers.local import process_alive

from support.project import Project
from support.repos import wait_for


def test_sigkilled_worker_is_recorded_as_crashed_and_retried(project: Project, tmp_path) -> None:
    once = tmp_path / "first-attempt"
    n, run = project.start_slow_task(once, tick=None)  # a silent agent
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
    n, run = project.start_slow_task(tmp_path / "first")
    from shiftctl.admin.steps.dispatch import terminate
    terminate(run, grace=0.5)
    (Path(run.run_dir) / "result.json").write_text('{"outcome": "succ')  # partial write
    result = project.cycle()
    assert result.rung == "unblock" and not result.errors
    first = project.runs(n)[0]
    assert first.outcome == "failed" and "not valid JSON" in first.error
    project.run()
    assert project.tasks(n)["t1"].state == "done"
