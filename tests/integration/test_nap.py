"""nap sleeps, but wakes for the wake file, a critical issue, or bad health."""
from __future__ import annotations

import shutil
import threading
import time

from shiftctl.admin.cycle.nap import nap

from support.project import Project


def test_nap_sleeps_its_time(project: Project) -> None:
    project.cycle()
    t0 = time.monotonic()
    assert nap(project.config, 0.3) == "time"
    assert 0.25 <= time.monotonic() - t0 < 2


def test_wake_file_wakes_it(project: Project) -> None:
    project.cycle()
    timer = threading.Timer(0.3, lambda: project.cli("wake"))
    timer.start()
    t0 = time.monotonic()
    assert nap(project.config, 30) == "wake"
    assert time.monotonic() - t0 < 5
    timer.join()


def test_a_critical_issue_wakes_it(project: Project) -> None:
    project.cycle()
    threading.Timer(0.2, lambda: project.file_issue(
        "Fire", "", labels=("shiftctl", "priority:critical"))).start()
    t0 = time.monotonic()
    assert nap(project.config, 30) == "critical"  # wake_check is 0.5 s in tests
    assert time.monotonic() - t0 < 5


def test_a_deleted_runtime_dir_is_unhealthy(project: Project) -> None:
    project.cycle()
    shutil.rmtree(project.root / ".shiftctl")
    assert nap(project.config, 30) == "unhealthy"
