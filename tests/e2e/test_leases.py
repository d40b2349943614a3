"""One admin at a time, and a task leased to its run: never a double dispatch."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from support.agents import agent_argv
from support.project import Project

pytestmark = pytest.mark.slow


def start_cycle(project: Project) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                             "cycle", "--json"], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))


def test_two_admins_started_together_never_dispatch_twice(project: Project) -> None:
    project.configure(workers={"max_concurrent": 8}, agents={"default": "quick", "profiles": {
        "quick": {"kind": "command", "argv": agent_argv("scripted.py"),
                  "env": {"AGENT_SLEEP": "0.3", "AGENT_WRITE": "out/{task}.txt:{task}"}}}})
    n = project.file_issue("Many", "".join(f"- [ ] (parallel) task{i} file\n" for i in range(8)))
    rungs: list[tuple[str, str]] = []
    for _ in range(40):
        a, b = start_cycle(project), start_cycle(project)
        ra = json.loads(a.communicate(timeout=60)[0])["rung"]
        rb = json.loads(b.communicate(timeout=60)[0])["rung"]
        rungs.append((ra, rb))
        if project.issue_state(n) == "done":
            break
        time.sleep(0.05)
    project.run()
    assert project.issue_state(n) == "done"
    both_busy = [r for r in rungs if r == ("busy", "busy")]
    assert not both_busy
    assert any("busy" in r for r in rungs), "the two admins never overlapped"
    runs = project.runs(n)
    per_task: dict[int | None, int] = {}
    for r in runs:
        per_task[r.task_id] = per_task.get(r.task_id, 0) + 1
    assert len(per_task) == 8 and set(per_task.values()) == {1}, per_task
    s = project.store()
    try:
        starts = [e for e in s.iter_events() if e["kind"] == "run.start"]
    finally:
        s.close()
    assert len(starts) == 8


def test_a_hung_worker_is_reclaimed_when_its_heartbeat_is_older_than_the_lease(
        project: Project, tmp_path) -> None:
    n, run = project.start_slow_task(tmp_path / "first", sleep=120, workers={"lease": 5})
    # the run started longer ago than the lease, but its worker beats: not reclaimed
    db = sqlite3.connect(project.root / ".shiftctl" / "state.db")
    with db:
        db.execute("UPDATE runs SET started_at = started_at - 60 WHERE id = ?", (run.id,))
    db.close()
    result = project.cycle()
    assert result.rung == "sleep", result
    assert project.runs(n)[0].ended_at is None
    os.kill(run.pid, signal.SIGSTOP)  # the worker hangs: its heartbeat stops
    try:
        result = project.cycle(now=time.time() + 6)  # six seconds on, the beat is 6 s old
        assert result.rung == "unblock" and any("lease expired" in a or "reclaim" in a
                                                for a in result.actions), result
    finally:
        try:
            os.kill(run.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    first = project.runs(n)[0]
    assert first.outcome == "crashed" and "lease expired" in first.error
    project.run()
    assert project.tasks(n)["t1"].state == "done"
    assert [r.outcome for r in project.runs(n)] == ["crashed", "succeeded"]
