"""Sleep is the default: an idle cycle spends no tokens, starts nothing, asks the tracker once."""
from __future__ import annotations

import json

from support.project import Project


def test_idle_cycle_sleeps_with_the_idle_hint_and_one_tracker_request(project: Project) -> None:
    project.configure(sleep={"idle": 1800, "busy": 300, "after_action": 5})
    n = project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    project.run()
    assert project.issue_state(n) == "done"
    runs_before = len(project.runs())
    for _ in range(3):
        result = project.cycle()
        assert result.rung == "sleep"
        assert result.actions == []
        assert result.sleep_s == 1800
        assert result.tracker_requests <= 1
    assert len(project.runs()) == runs_before  # no agent was started


def test_cycle_json_is_exactly_the_contract(project: Project) -> None:
    out = project.cli("cycle", "--json").stdout
    data = json.loads(out)
    assert set(data) == {"cycle", "rung", "actions", "sleep_s"}
    assert data["rung"] == "sleep" and data["actions"] == [] and data["cycle"] == 1
    assert data["sleep_s"] == 60


def test_fresh_repo_first_cycle_is_idle(project: Project) -> None:
    result = project.cycle()
    assert (result.rung, result.actions) == ("sleep", [])


def test_hourly_maintenance_checkpoints_and_trims_old_records(project, monkeypatch) -> None:
    import time

    from shiftctl.admin.steps import maintenance
    monkeypatch.setattr(maintenance, "KEEP_CYCLES", 5)
    monkeypatch.setattr(maintenance, "KEEP_RUN_DIRS_S", 0)
    n = project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    project.run()
    project.cli("issue", "close", str(n))
    project.run()
    assert project.issue_state(n) == "closed"  # closed on the tracker by a person
    run_dir = project.runs(n)[0].run_dir
    future = time.time() + 2 * 3600
    from shiftctl.admin.cycle.main import run_cycle
    r = run_cycle(project.config, now=future)
    assert r.rung == "maintenance" and any("checkpoint" in a for a in r.actions), r
    from pathlib import Path
    assert not Path(run_dir).exists()
    s = project.store()
    try:
        assert s.conn.execute("SELECT COUNT(*) FROM cycles").fetchone()[0] <= 6
        assert s.runs(issue=n)  # the run records (and the events) stay
    finally:
        s.close()
    assert run_cycle(project.config, now=future + 1).rung == "sleep"
