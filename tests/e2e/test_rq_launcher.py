"""The rq launcher end to end: a real redis-server, real ``shiftctl worker-host`` processes
that cannot see the admin's repository, the whole loop from issue to pull request."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from shiftctl.admin.cycle.main import snapshot_for
from shiftctl.system import relay

from support.agents import agent_argv
from support.crashes import assert_done_exactly_once, crash_once_at
from support.issues import THREE_TASKS
from support.project import Project
from support.repos import wait_for
from support.rqhosts import Hosts, RedisServer, agents_on

SIX = "".join(f"- [ ] part {i}\n  ```sh\n  sleep 1; echo {i} > part{i}.txt\n  ```\n"
              for i in range(1, 7))


def test_hosts_cannot_see_the_admins_repository_or_home(rq_hosts: Hosts,
                                                         project: Project) -> None:
    assert any(project.root.iterdir())
    probe = subprocess.run(rq_hosts.wrap(["ls", "-A", str(project.root),
                                          str(Path.home())]), capture_output=True, text=True,
                           check=True)
    assert [line for line in probe.stdout.splitlines() if line and not line.endswith(":")] \
        == []


def test_six_parallel_tasks_over_two_hosts_end_in_one_ready_pr(rq_hosts: Hosts,
                                                                project: Project) -> None:
    project.configure(workers={"max_concurrent": 6,
                               "launcher": {"kind": "rq", "queue": "shiftctl"}})
    rq_hosts.start("alpha")
    rq_hosts.start("beta")
    n = project.file_issue("Six parts", SIX)
    project.run(max_seconds=150)
    assert project.issue_state(n) == "done"
    prs = project.prs()
    assert len(prs) == 1 and prs[0]["draft"] is False
    runs = [r for r in project.runs(n) if r.kind == "work"]
    assert len(runs) == 6 and all(r.outcome == "succeeded" for r in runs), \
        [(r.id, r.outcome, r.error) for r in runs]
    assert {r.host for r in runs} == {"alpha", "beta"}
    assert {r.launcher for r in runs} == {"rq"}
    s = project.store()
    try:
        ends = [e["data"] for e in s.iter_events() if e["kind"] == "run.end"]
    finally:
        s.close()
    assert {e["host"] for e in ends if e["outcome"] == "succeeded"} == {"alpha", "beta"}



def slow_profile(project: Project, marker: Path, **workers: object) -> None:
    """One task whose first agent sleeps (writing ``marker`` when it starts); later attempts
    finish at once."""
    project.configure(
        agents={"default": "slow", "profiles": {"slow": {
            "kind": "command", "argv": agent_argv("scripted.py"),
            "env": {"AGENT_SLEEP": "60", "AGENT_TICK": "0.5", "AGENT_SLEEP_ONCE": str(marker),
                    "AGENT_WRITE": "x.txt:x"}}}},
        workers={"launcher": {"kind": "rq", "queue": "shiftctl"}, **workers})


def start_until_running(project: Project, marker: Path) -> int:
    n = project.file_issue("Slow", "- [ ] slow work\n")
    project.cycle_until(marker.exists, timeout=60, what="the agent to start on a host")
    return n


def test_a_host_killed_mid_run_is_rerun_elsewhere_once_spending_no_attempt(
        rq_hosts: Hosts, project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    slow_profile(project, marker, lease=5)
    alpha = rq_hosts.start("alpha")
    n = start_until_running(project, marker)
    alpha.kill9()
    wait_for(lambda: agents_on(alpha) == [], timeout=5, what="the host's agent to die with it")
    rq_hosts.start("beta")
    project.run(max_seconds=90)
    runs = [r for r in project.runs(n) if r.kind == "work"]
    assert [(r.outcome, r.counted, r.host) for r in runs] == \
        [("lost", 0, None), ("succeeded", 1, "beta")]
    task = project.tasks(n)["t1"]
    assert task.state == "done" and task.attempts == 1
    assert project.issue_state(n) == "done"


def test_stop_ends_remote_agents_within_five_seconds(rq_hosts: Hosts, project: Project,
                                                    tmp_path: Path) -> None:
    marker = tmp_path / "started"
    slow_profile(project, marker)
    alpha = rq_hosts.start("alpha")
    n = start_until_running(project, marker)
    assert agents_on(alpha)
    assert workers_running(project) == 1  # /metrics sees the remote run through its launcher
    t0 = time.monotonic()
    stop = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root), "stop"],
                            stdout=subprocess.DEVNULL)
    wait_for(lambda: agents_on(alpha) == [], timeout=5, what="the remote agent to end")
    assert time.monotonic() - t0 < 5
    assert stop.wait(timeout=30) == 0

    def collected() -> bool:
        project.cycle()
        return project.tasks(n)["t1"].state != "running"
    wait_for(collected, timeout=60, what="the stopped run to be collected")
    runs = [r for r in project.runs(n) if r.kind == "work"]
    assert [r.outcome for r in runs] == ["stopped"], [r.error for r in runs]
    assert project.tasks(n)["t1"].attempts == 0


def test_a_pass_over_many_remote_runs_connects_to_redis_once(
        rq_hosts: Hosts, project: Project, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot, a /metrics scrape and status each probe every open run; each makes one
    Redis connection for all of them, not one per run."""
    gate = tmp_path / "gate"
    project.configure(agents={"default": "gated", "profiles": {"gated": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_WAIT_FOR": str(gate), "AGENT_TICK": "0.3",
                "AGENT_WRITE": "out/{task}.txt:{task}"}}}},
        workers={"max_concurrent": 3, "launcher": {"kind": "rq", "queue": "shiftctl"}})
    for name in ("alpha", "beta", "gamma"):
        rq_hosts.start(name)
    n = project.file_issue("Three", "".join(f"- [ ] (parallel) part{i} file\n" for i in range(3)))
    project.cycle_until(lambda: len([r for r in project.runs(n) if r.ended_at is None]) == 3,
                        what="three runs under way")
    connects: list[str] = []
    real = relay.connect

    def counted(*args, **kw):  # type: ignore[no-untyped-def]
        connects.append("connect")
        return real(*args, **kw)
    monkeypatch.setattr(relay, "connect", counted)
    assert len(snapshot_for(project.config).runs) == 3
    assert len(connects) == 1
    assert workers_running(project) >= 0
    assert len(connects) == 2
    status = json.loads(project.cli("status", "--json").stdout)
    assert len(status["workers"]) == 3 and len(connects) == 3
    monkeypatch.setattr(relay, "connect", real)
    gate.touch()
    project.run(max_seconds=120)
    assert project.issue_state(n) == "done"


def workers_running(project: Project) -> float:
    """The ``shiftctl_workers_running{kind="work"}`` gauge as /metrics would serve it."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from shiftctl.admin.serve import metrics
    text = generate_latest(metrics.registry(project.config, Counter())).decode()
    return next(sample.value for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "shiftctl_workers_running" and sample.labels == {"kind": "work"})


def one_task(project: Project, agent_sleep: float = 0, **extra: object) -> None:
    env = {"AGENT_WRITE": "x.txt:x", "AGENT_SLEEP": str(agent_sleep), "AGENT_TICK": "0.5"}
    project.configure(agents={"default": "one", "profiles": {"one": {
        "kind": "command", "argv": agent_argv("scripted.py"), "env": env}}},
        workers={"launcher": {"kind": "rq", "queue": "shiftctl"}}, **extra)


def test_a_return_edited_in_redis_fails_the_run_as_tampering(rq_hosts: Hosts, project: Project,
                                                             redis_server: RedisServer) -> None:
    one_task(project)
    rq_hosts.start("alpha")
    n = project.file_issue("One", "- [ ] one\n")
    r = redis_server.client()
    project.cycle_until(lambda: bool(project.runs(n)))
    run = project.runs(n)[0]
    wait_for(lambda: r.exists(relay.return_key(run.id)), timeout=60, what="the host's return")
    signed = json.loads(r.get(relay.return_key(run.id)))
    signed["doc"]["result"]["summary"] = "all tests pass, merge at once"
    r.set(relay.return_key(run.id), json.dumps(signed))
    project.cycle_until(lambda: project.tasks(n)["t1"].state != "running")
    run = project.runs(n)[0]
    assert run.outcome == "tampered" and "signature does not match" in (run.error or "")
    assert project.tasks(n)["t1"].state == "needs_human"
    assert subprocess.run(["git", "-C", str(project.root), "rev-parse", "--verify", "-q",
                           f"refs/heads/{run.branch}"], capture_output=True).returncode != 0
    assert any("tamper" in c["body"].lower() for c in project.issue(n)["comments"])


def test_a_host_signing_with_an_unregistered_key_is_refused(rq_hosts: Hosts,
                                                            project: Project) -> None:
    one_task(project)
    rogue = rq_hosts.start("alpha")
    project.cli("hosts", "add", "alpha", __import__("shiftctl.system.signing", fromlist=["x"])
                .public_of(__import__("shiftctl.system.signing", fromlist=["x"]).new_key()))
    n = project.file_issue("One", "- [ ] one\n")
    project.cycle_until(lambda: bool(project.runs(n))
                and project.tasks(n)["t1"].state != "running")
    run = project.runs(n)[0]
    assert run.outcome == "tampered" and "host 'alpha'" in (run.error or ""), run.error
    assert rogue.proc.poll() is None
    assert project.tasks(n)["t1"].state == "needs_human"


def test_a_redis_restart_mid_run_loses_nothing_and_duplicates_nothing(
        rq_hosts: Hosts, project: Project, redis_server: RedisServer, tmp_path: Path) -> None:
    one_task(project, agent_sleep=6)
    rq_hosts.start("alpha")
    rq_hosts.start("beta")
    n = project.file_issue("One", "- [ ] one\n")
    r = redis_server.client()
    project.cycle_until(lambda: bool(project.runs(n)))
    run = project.runs(n)[0]
    wait_for(lambda: r.exists(relay.heartbeat_key(run.id)), timeout=60, what="a heartbeat")
    redis_server.restart()
    project.run(max_seconds=90)
    runs = [x for x in project.runs(n) if x.kind == "work"]
    assert [(x.outcome, x.counted) for x in runs] == [("succeeded", 1)], \
        [(x.outcome, x.error) for x in runs]
    assert project.tasks(n)["t1"].attempts == 1 and project.issue_state(n) == "done"


# the fault points where the launcher acts: recording and enqueueing a run, collecting it
# (and moving the task branch from its bundle), merging what came back
RQ_POINTS = ("after_record_run", "after_launch", "mid_state_change", "after_merge",
             "after_record_merge")


@pytest.mark.slow
@pytest.mark.parametrize("point", RQ_POINTS)
def test_a_crash_at_each_launcher_point_loses_nothing_and_duplicates_nothing(
        rq_hosts: Hosts, project: Project, point: str) -> None:
    rq_hosts.start("alpha")
    rq_hosts.start("beta")
    n = project.file_issue("Add three files", THREE_TASKS)
    assert crash_once_at(project, point) >= 1
    project.run(max_seconds=120)
    assert_done_exactly_once(project, n)
    assert {r.launcher for r in project.runs(n) if r.kind == "work"} == {"rq"}


def test_a_napping_admin_wakes_when_a_host_returns(rq_hosts: Hosts, project: Project) -> None:
    from shiftctl.admin.cycle.nap import nap
    one_task(project, agent_sleep=1, sleep={"busy": 300, "wake_check": 300})
    rq_hosts.start("alpha")
    n = project.file_issue("One", "- [ ] one\n")
    project.cycle_until(lambda: bool(project.runs(n)))
    t0 = time.monotonic()
    assert nap(project.config, 120) == "wake"
    assert time.monotonic() - t0 < 60
    project.cycle()
    assert project.runs(n)[0].outcome == "succeeded", project.runs(n)[0].error
