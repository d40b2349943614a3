"""Sleep is the default: an idle cycle spends no tokens, starts nothing, asks the tracker once."""
from __future__ import annotations

import json

from conftest import Project


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
