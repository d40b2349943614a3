"""Crashing the admin at a fault point, and what "nothing lost, nothing duplicated" means
for the three-task issue (tests/e2e/test_crash_safety.py and its rq launcher repeat)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from shiftctl.admin.cycle.faults import EXIT_CODE

from support.project import Project
from support.repos import git


def cycle_with_fault(project: Project, point: str) -> int:
    env = {**os.environ, "SHIFTCTL_FAULT": point}
    proc = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                           "cycle", "--json"], env=env, capture_output=True, text=True,
                          timeout=120)
    return proc.returncode


def crash_once_at(project: Project, point: str, max_cycles: int = 150) -> int:
    """Run cycles with the fault armed until one dies there; returns cycles it took."""
    for i in range(1, max_cycles + 1):
        code = cycle_with_fault(project, point)
        if code == EXIT_CODE:
            return i
        assert code == 0
        time.sleep(0.1)  # workers finish between cycles
    raise AssertionError(f"fault point {point!r} was never reached")


def assert_done_exactly_once(project: Project, n: int) -> None:
    tasks = project.tasks(n)
    assert {k: t.state for k, t in tasks.items()} == {"t1": "done", "t2": "done", "t3": "done"}
    assert project.issue_state(n) == "done"
    prs = project.prs()
    assert len(prs) == 1 and prs[0]["draft"] is False
    branch = f"shiftctl/issue-{n}"
    log = git(project.root, "log", "--format=%s", f"main..{branch}").splitlines()
    for key in ("t1", "t2", "t3"):
        assert sum(s.startswith(f"shiftctl: merge {n}-{key}:") for s in log) == 1, log
    assert git(project.root, "show", f"{branch}:b.txt") == "alpha\nbeta"
    comments = [c["body"].splitlines()[0] for c in project.issue(n)["comments"]]
    assert len(comments) == len(set(comments)), comments
    assert len(comments) == 6  # plan, 3 merged, PR opened, done
    t = project.tracker()
    try:
        history = t.label_history(n)
    finally:
        t.close()
    assert sorted(history) == [("added", "shiftctl:active"), ("added", "shiftctl:done"),
                               ("removed", "shiftctl:active")], history
    s = project.store()
    try:
        done_events = [e for e in s.iter_events() if e["kind"] == "task.state"
                       and e["data"]["new"] == "done"]
        assert sorted(e["task"] for e in done_events) == [f"{n}-t1", f"{n}-t2", f"{n}-t3"]
        assert all(r.ended_at is not None for r in s.runs())
    finally:
        s.close()
