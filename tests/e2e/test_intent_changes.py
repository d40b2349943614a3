"""shiftctl follows the person's intent as it changes: an issue closed or stripped of its
intake label is not worked on any more, from the next cycle, running agents included."""
from __future__ import annotations

import json
import time
from pathlib import Path

from support.project import Project
from support.repos import wait_for

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] not in ("Z", "X")


def _comments(p: Project, n: int) -> list[str]:
    return [c["body"] for c in p.issue(n)["comments"]]


def test_an_issue_closed_after_planning_is_never_dispatched(any_project: Project) -> None:
    p = any_project
    n = p.file_issue("Planned, then closed", ONE)
    for _ in range(5):
        p.cycle()
        if p.tasks(n):
            break
    assert [t.state for t in p.tasks(n).values()] in (["ready"], ["pending"])
    p.close_issue(n)
    p.run()
    assert [r for r in p.runs(n) if r.kind == "work"] == []
    assert p.issue_state(n) == "cancelled"
    assert {t.state for t in p.tasks(n).values()} == {"cancelled"}
    assert p.prs() == []
    assert any("stopped working on this issue: closed on the tracker" in c
               for c in _comments(p, n))


def test_removing_the_intake_label_stops_the_running_agent_within_seconds(
        any_project: Project, tmp_path: Path) -> None:
    p = any_project
    marker = tmp_path / "agent.pid"
    n, run = p.start_slow_task(marker)
    agent = int(marker.read_text())
    p.remove_label(n, "shiftctl")
    t0 = time.monotonic()
    result = p.cycle()
    elapsed = time.monotonic() - t0
    assert any(a.startswith(f"cancel #{n}") for a in result.actions), result.actions
    assert elapsed < 5.0, f"the cycle that stopped the agent took {elapsed:.1f}s"
    wait_for(lambda: not _alive(agent), timeout=2.0, what="the agent's end")
    ended = json.loads((Path(run.run_dir) / "result.json").read_text())  # it still reported
    assert ended["error"] == "attempt terminated"
    assert p.issue_state(n) == "cancelled"
    assert any("intake label `shiftctl` was removed" in c for c in _comments(p, n))
    p.run()
    assert len([r for r in p.runs(n) if r.kind == "work"]) == 1  # nothing more dispatched
