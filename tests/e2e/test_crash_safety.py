"""Kill the admin at every side-effect point; the next cycles finish the work exactly once.

For each fault point the cycle dies with ``os._exit`` right after an outside effect (or half
way through a state change) and before recording it. Then cycles run without the fault until
idle, and the outcome must be exactly what an undisturbed run produces: no duplicate
comment, PR or label change, no lost task, no task done twice, state consistent with git and
the tracker.
"""
from __future__ import annotations

import json

import pytest

from shiftctl.admin.cycle.faults import POINTS
from shiftctl.admin.launchers import local

from support.crashes import assert_done_exactly_once, crash_once_at
from support.issues import THREE_TASKS
from support.project import Project

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_each_point_loses_nothing_and_duplicates_nothing(
        project: Project, point: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = project.file_issue("Add three files", THREE_TASKS)
    took = crash_once_at(project, point)
    assert took >= 1
    # A run recorded but never started is taken for gone once the local launcher's start
    # grace (30 s) has passed; the admin that recovers here waits 2 s instead.
    monkeypatch.setattr(local, "START_GRACE_S", 2.0)
    project.run(max_seconds=120)
    assert_done_exactly_once(project, n)
    report = project.root / ".shiftctl" / "crash-report.json"
    report.write_text(json.dumps({"point": point, "cycles_before_crash": took}))
