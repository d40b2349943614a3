"""Budgets and caps are enforced by the orchestrator, from what agents report they cost."""
from __future__ import annotations

import os
import signal
import time

import pytest

from shiftctl.admin.launchers.local import process_alive

from support.agents import agent_argv
from support.project import Project


def paid_agent(cost: float, **env: str) -> dict:
    return {"kind": "command", "argv": agent_argv("scripted.py"), "typical_cost_usd": 0.5,
            "env": {"AGENT_STATUS": f'{{"status": "done", "cost_usd": {cost}}}', **env}}


def test_issue_budget_exhausted_hands_the_issue_to_a_human(project: Project) -> None:
    project.configure(
        budget={"usd_per_issue": 1.0, "usd_per_day": 100},
        workers={"max_attempts": 10},
        checks=[{"name": "never", "run": "false", "timeout": 10}],
        agents={"default": "paid", "profiles": {"paid": paid_agent(0.4, AGENT_WRITE="a:a")}})
    n = project.file_issue("Costly", "- [ ] try\n")
    project.run()
    runs = project.runs(n)
    # 0.4 + 0.4 = 0.8 spent; 0.2 left is below the profile's typical 0.5: no third run
    assert len(runs) == 2 and sum(r.cost_usd for r in runs) == pytest.approx(0.8)
    assert project.issue_state(n) == "needs_human"
    comments = [c["body"] for c in project.issue(n)["comments"] if "shiftctl:budget:" in c["body"]]
    assert len(comments) == 1 and "$0.80 of its $1.00" in comments[0]
    status = project.cli_json("status")
    assert status["issues"][0]["cost_usd"] == pytest.approx(0.8)
    assert status["issues"][0]["tasks"][0]["cost_usd"] == pytest.approx(0.8)


def test_daily_budget_holds_every_issue_back(project: Project) -> None:
    project.configure(
        budget={"usd_per_issue": 100, "usd_per_day": 1.0},
        agents={"default": "paid", "profiles": {"paid": paid_agent(0.45,
                                                                   AGENT_WRITE="{task}.txt:x")}})
    a = project.file_issue("A", "- [ ] alpha\n- [ ] beta\n")
    b = project.file_issue("B", "- [ ] gamma\n")
    project.run()
    runs = project.runs()
    assert len(runs) == 2  # 0.9 spent; the next 0.5 would pass 1.0
    assert sum(r.cost_usd for r in runs) == pytest.approx(0.9)
    waiting = [t for n in (a, b) for t in project.tasks(n).values() if t.state == "ready"]
    assert waiting and all(t.attempts == 0 for t in waiting)  # waiting costs no attempt
    status = project.cli_json("status")
    assert status["spent_today_usd"] == pytest.approx(0.9)
    assert project.cycle().rung == "sleep"  # nothing to do until tomorrow's budget


def test_runs_per_issue_are_capped(project: Project) -> None:
    project.configure(limits={"max_runs_per_issue": 3}, workers={"max_attempts": 50},
                      checks=[{"name": "never", "run": "false", "timeout": 10}])
    n = project.file_issue("Hopeless", "- [ ] try\n  ```sh\n  echo x > x\n  ```\n")
    project.run()
    assert len(project.runs(n)) == 3
    assert project.issue_state(n) == "needs_human"
    assert sum("shiftctl:run_cap:" in c["body"] for c in project.issue(n)["comments"]) == 1


def test_stop_ends_an_agent_that_ignores_sigterm(project: Project, tmp_path) -> None:
    pidfile = tmp_path / "agent.pid"
    stubborn = (f"trap '' TERM; echo $$ > {pidfile}; "
                "while true; do sleep 0.2; echo still here; done")
    project.configure(agents={"default": "stubborn", "profiles": {"stubborn": {
        "kind": "command", "argv": ["bash", "-c", stubborn]}}})
    project.file_issue("Stubborn", "- [ ] never ends\n")
    while project.cycle().rung != "assign":
        pass
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    agent_pid = int(pidfile.read_text())
    t0 = time.monotonic()
    project.cli("stop")
    assert time.monotonic() - t0 < 20
    assert not process_alive(agent_pid, None)
    try:
        os.kill(agent_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
