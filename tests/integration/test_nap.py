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


def test_each_cycle_counts_why_it_ran(project: Project) -> None:
    """Whoever wakes the loop says why in the wake file; the next cycle counts it (kv
    ``wakes:REASON``, shown by /metrics), and a junk line counts as "other"."""
    def wakes() -> dict[str, int]:
        s = project.store()
        try:
            return s.wakes()
        finally:
            s.close()

    project.cycle()
    assert wakes() == {"manual": 1}
    project.cli("wake")
    project.cycle()
    assert wakes() == {"manual": 1, "cli": 1}
    (project.root / ".shiftctl" / "wake").write_text("rm -rf /\n")
    from shiftctl.admin.cycle.main import run_cycle
    run_cycle(project.config, woke="time")
    assert wakes() == {"manual": 1, "cli": 1, "other": 1, "timer": 1}
    assert not (project.root / ".shiftctl" / "wake").exists()  # consumed


def test_a_finished_worker_wakes_the_loop_as_worker(project: Project) -> None:
    n = project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    project.run()
    assert project.issue_state(n) == "done"
    s = project.store()
    try:
        counted = s.wakes()
    finally:
        s.close()
    assert counted["start"] == 1 and counted["worker"] >= 1 and counted["followup"] >= 1
