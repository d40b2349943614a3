"""``/metrics`` of a real ``shiftctl serve``: Prometheus' own parser reads it, and every
figure is what the state db says (cycles by rung and their durations, tasks by state, runs by
outcome, cost, tokens, workers running, wake reasons, tracker quota)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from shiftctl.admin.paths import Paths
from shiftctl.admin.serve.metrics import CycleTally
from shiftctl.memory.store import Store

from support.agents import agent_argv
from support.github import GithubProject
from support.project import Project
from support.serve import Served


def scrape(served: Served) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """sample name -> {sorted labels: value}, parsed by prometheus_client's parser."""
    reply = served.request("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def by(metrics: dict[str, Any], name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in metrics.get(name, {}).items()}


def test_metrics_parse_and_every_figure_matches_the_store(
        project: Project, serve: Callable[..., Served]) -> None:
    project.configure(agents={"default": "billed", "profiles": {"billed": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_WRITE": "{task}.txt:done", "AGENT_BILL": "3.0"}}}},
        workers={"max_attempts": 1})
    project.file_issue("Two things", "- [ ] (parallel) one\n- [ ] (parallel) two\n")
    failing = project.file_issue("Fails", "- [ ] nothing written\n  agent: shell\n")
    project.run()
    assert project.issue_state(failing) == "needs_human"
    served = serve(project.root)
    m = scrape(served)

    s = project.store()
    try:
        conn = s.conn
        assert by(m, "shiftctl_tasks", "state") == {
            state: sum(1 for t in s.tasks() if t.state == state)
            for state in ("pending", "ready", "running", "review", "done", "retry",
                          "needs_human", "cancelled")}
        runs = {(k, o): n for k, o, n in conn.execute(
            "SELECT kind, outcome, COUNT(*) FROM runs GROUP BY kind, outcome")}
        assert {(dict(lb)["kind"], dict(lb)["outcome"]): v
                for lb, v in m["shiftctl_runs_total"].items()} == runs
        assert runs[("work", "succeeded")] == 2 and runs[("work", "failed")] == 1
        cost, t_in, t_out = conn.execute("SELECT SUM(cost_usd), SUM(tokens_in), "
                                         "SUM(tokens_out) FROM runs").fetchone()
        assert cost > 0 and t_in > 0
        assert abs(sum(m["shiftctl_cost_usd_total"].values()) - cost) < 1e-9
        assert by(m, "shiftctl_tokens_total", "direction") == {"in": t_in, "out": t_out}
        rungs = dict(conn.execute("SELECT rung, COUNT(*) FROM cycles GROUP BY rung"))
        assert by(m, "shiftctl_cycles_total", "rung") == rungs
        cycles = sum(rungs.values())
        assert m["shiftctl_cycle_duration_seconds_count"][()] == cycles
        assert m["shiftctl_cycle_duration_seconds_bucket"][(("le", "+Inf"),)] == cycles
        assert by(m, "shiftctl_wakes_total", "reason") == s.wakes()
    finally:
        s.close()
    assert by(m, "shiftctl_workers_running", "kind") == {"work": 0}
    assert m["shiftctl_kill_switch"][()] == 0
    assert m["shiftctl_state_readable"][()] == 1

    project.cycle()  # counted once more, and once only, however often it is scraped
    scrape(served)
    again = scrape(served)
    assert again["shiftctl_cycle_duration_seconds_count"][()] == cycles + 1


def test_a_live_worker_is_counted_while_it_runs(project: Project, serve: Callable[..., Served],
                                                tmp_path: Path) -> None:
    project.start_slow_task(tmp_path / "agent.pid")
    served = serve(project.root)
    assert by(scrape(served), "shiftctl_workers_running", "kind") == {"work": 1}
    project.cli("stop")
    m = scrape(served)
    assert m["shiftctl_kill_switch"][()] == 1
    assert by(m, "shiftctl_workers_running", "kind") == {"work": 0}


def test_before_a_first_cycle_metrics_say_there_is_no_state(
        project: Project, serve: Callable[..., Served]) -> None:
    m = scrape(serve(project.root))
    assert m["shiftctl_state_readable"][()] == 0
    assert "shiftctl_tasks" not in m


def test_the_tracker_quota_left_is_what_github_last_said(
        gh_project: GithubProject, serve: Callable[..., Served]) -> None:
    gh_project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    gh_project.run()
    s = gh_project.store()
    try:
        rate = json.loads(s.get("tracker_rate") or "{}")
    finally:
        s.close()
    m = scrape(serve(gh_project.root))
    assert rate["remaining"] < rate["limit"]
    assert m["shiftctl_tracker_quota_remaining"][()] == rate["remaining"]
    assert m["shiftctl_tracker_quota_limit"][()] == rate["limit"]


def test_cycle_counts_never_go_down_when_old_cycle_records_are_trimmed(tmp_path: Path) -> None:
    """Maintenance deletes cycle records beyond 20,000; a counter must not fall with them."""
    paths = Paths(tmp_path)
    store = Store.open(paths.state_db)
    tally = CycleTally()
    try:
        for _ in range(5):
            n = store.begin_cycle(time.time() - 0.2)
            store.end_cycle(n, "sleep", [], 60)
        tally.update(store)
        assert (tally.rungs["sleep"], tally.count) == (5, 5)
        with store.tx():
            store.conn.execute("DELETE FROM cycles WHERE number <= 4")
        n = store.begin_cycle(time.time())
        store.end_cycle(n, "assign", ["spawn"], 0)
        tally.update(store)
        tally.update(store)
        assert dict(tally.rungs) == {"sleep": 5, "assign": 1} and tally.count == 6
        assert 0.2 * 5 <= tally.total < 0.2 * 5 + 5
    finally:
        store.close()
