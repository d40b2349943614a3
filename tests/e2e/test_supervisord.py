"""Under real supervisord: the loop is restarted after kill -9; workers outlive it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from shiftctl.admin.cli.supervise import supervisor_env, supervisorctl_argv
from shiftctl.admin.launchers.local import process_alive

from support.agents import agent_argv
from support.project import Project
from support.repos import wait_for

pytestmark = pytest.mark.slow


def ctl(project: Project, *args: str) -> str:
    proc = subprocess.run([*supervisorctl_argv(), *args], env=supervisor_env(project.config),
                          capture_output=True, text=True, timeout=30)
    return proc.stdout.strip()


def loop_pid(project: Project) -> int:
    out = ctl(project, "pid", "shiftctl-loop")
    return int(out) if out.isdigit() else 0


def test_loop_survives_kill_9_and_the_running_worker_is_kept(project: Project,
                                                            tmp_path: Path) -> None:
    marker = tmp_path / "agent-started"
    project.configure(
        agents={"default": "slow", "profiles": {"slow": {
            "kind": "command", "argv": agent_argv("scripted.py"),
            "env": {"AGENT_SLEEP": "6", "AGENT_TICK": "0.5", "AGENT_SLEEP_ONCE": str(marker),
                    "AGENT_WRITE": "out/{task}.txt:{task}"}},
            "fast": {"kind": "command", "argv": agent_argv("scripted.py"),
                     "env": {"AGENT_WRITE": "out/{task}.txt:{task}"}}}},
        sleep={"after_action": 0, "busy": 2, "idle": 3, "wake_check": 0.5})
    out = project.cli("supervise")
    assert "supervisord started" in out.stdout
    try:
        wait_for(lambda: loop_pid(project) > 0, what="the loop to start")
        first_loop = loop_pid(project)
        body = "- [ ] slow one\n- [ ] (parallel) other\n  agent: fast\n"
        out = project.cli("issue", "new", "Slow work", "--label", "shiftctl", "--body", body)
        n = int(out.stdout.split()[0][1:])
        wait_for(marker.exists, what="the agent to start")
        run = next(r for r in project.runs(n) if r.pid and r.profile == "slow")
        os.kill(first_loop, signal.SIGKILL)
        wait_for(lambda: loop_pid(project) not in (0, first_loop), what="a restarted loop")
        assert process_alive(run.pid, run.pid_start), "the worker must survive the restart"
        wait_for(lambda: project.issue_state(n) == "done", timeout=90, what="the issue")
    finally:
        ctl(project, "shutdown")
        pidfile = project.root / ".shiftctl" / "supervisord.pid"
        wait_for(lambda: not pidfile.exists(), timeout=30, what="supervisord to stop")

    runs = project.runs(n)
    assert len(runs) == 2, [(r.id, r.outcome) for r in runs]  # no task ran twice
    assert all(r.outcome == "succeeded" for r in runs)
    assert run.id in {r.id for r in runs}  # the surviving worker's result was taken
    comments = [c["body"].splitlines()[0] for c in project.issue(n)["comments"]]
    assert len(comments) == len(set(comments))
    log = (project.root / ".shiftctl" / "logs" / "loop.log").read_text()
    rungs = [json.loads(line)["rung"] for line in log.splitlines() if line.startswith("{")]
    assert "assign" in rungs and "review" in rungs


def test_supervise_status_stop_restart_and_a_second_start(project: Project) -> None:
    """Issue 13, item 6: stop, status and restart without pasting a socket path; a second
    start says it runs (with its pid), not supervisord's raw socket error."""
    project.configure(sleep={"after_action": 0, "busy": 2, "idle": 3, "wake_check": 0.5})
    pidfile = project.root / ".shiftctl" / "supervisord.pid"
    down = project.cli("supervise", "status", check=False)
    assert down.returncode == 3 and "not running" in down.stdout
    project.cli("supervise")
    try:
        wait_for(lambda: loop_pid(project) > 0, what="the loop to start")
        first = int(pidfile.read_text())
        again = project.cli("supervise", "start", check=False)
        assert again.returncode != 0
        assert f"already running for {project.root} (pid {first})" in again.stderr
        assert "Another program" not in again.stderr
        wait_for(lambda: "RUNNING" in project.cli("supervise", "status").stdout,
                 what="the loop to be RUNNING")  # STARTING for its first second
        up = project.cli("supervise", "status")
        assert f"supervisord running (pid {first})" in up.stdout
        restarted = project.cli("supervise", "restart").stdout
        assert f"supervisord (pid {first}) stopped" in restarted and "started" in restarted
        second = int(pidfile.read_text())
        assert second != first and not process_alive(first, None)
        wait_for(lambda: loop_pid(project) > 0, what="the loop to start again")
        stopped = project.cli("supervise", "stop").stdout
        assert f"supervisord (pid {second}) stopped" in stopped
        assert not process_alive(second, None) and loop_pid(project) == 0
        assert project.cli("supervise", "status", check=False).returncode == 3
        assert "nothing to stop" in project.cli("supervise", "stop").stdout
    finally:
        ctl(project, "shutdown")
