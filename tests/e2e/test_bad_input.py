"""Bad input gets a clear error and loses nothing; the loop never crash-loops."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.project import Project
from support.repos import ROOT

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def cli_cycle(project: Project, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                           "cycle", "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_malformed_config_fails_the_cycle_with_the_key_and_the_loop_backs_off(
        project: Project) -> None:
    (project.root / "shiftctl.yaml").write_text("workers:\n  max_attempts: lots\n")
    proc = cli_cycle(project)
    assert proc.returncode != 0
    assert "workers.max_attempts: 'lots'" in proc.stderr
    loop = subprocess.Popen(["bash", str(ROOT / "scripts" / "shift-loop.sh")],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ,
                                            "SHIFTCTL": f"{sys.executable} -m shiftctl"},
                            start_new_session=True)
    time.sleep(4)
    assert loop.poll() is None, "the loop must keep running"
    os.killpg(loop.pid, 9)
    _, err = loop.communicate()
    assert 1 <= err.count("cycle failed") <= 2, err  # backs off: 5 s, then 10 s, ...
    log = (project.root / ".shiftctl" / "logs" / "cycle-errors.log").read_text()
    assert "workers.max_attempts" in log


def test_run_until_idle_returns_on_a_broken_config(project: Project) -> None:
    (project.root / "shiftctl.yaml").write_text("tracker: [not, a, mapping]\n")
    proc = project.cli("run", "--until-idle", check=False)
    assert proc.returncode == 0 or proc.returncode == 1
    assert "tracker" in proc.stderr


def test_huge_binary_invalid_utf8_issue_body_is_planned_safely(project: Project,
                                                              tmp_path: Path) -> None:
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(1_200_000))
    body = b"- [ ] survive this\n  ```sh\n  echo ok > ok.txt\n  ```\n" + junk
    path = tmp_path / "body.bin"
    path.write_bytes(body)
    project.cli("issue", "new", "Junk", "--label", "shiftctl", "--body-file", str(path))
    project.run()
    [n] = [i["number"] for i in project.cli_json("issue", "list")]
    assert project.issue_state(n) == "done"
    run = project.runs(n)[0]
    prompt = (Path(run.run_dir) / "prompt.md").read_text()
    assert len(prompt) < 100_000  # the body is cut to the prompt budget


def test_ten_thousand_item_checklist_is_refused_with_a_reason(project: Project) -> None:
    body = "".join(f"- [ ] item {i}\n" for i in range(10_000))
    n = project.file_issue("Too much", body)
    t0 = time.monotonic()
    project.run()
    assert time.monotonic() - t0 < 30
    assert project.issue_state(n) == "needs_human"
    [comment] = [c["body"] for c in project.issue(n)["comments"]
                 if "shiftctl:plan_failed:" in c["body"]]
    assert "10000 tasks" in comment and "max_tasks_per_issue" in comment
    assert project.runs(n) == []


def test_huge_result_is_a_failed_run(project: Project, tmp_path: Path) -> None:
    n, run = project.start_slow_task(tmp_path / "first")
    from shiftctl.admin.steps.dispatch import terminate
    terminate(run, grace=0.5)
    with open(Path(run.run_dir) / "result.json", "w") as fh:
        fh.write('{"outcome": "succeeded", "summary": "' + "x" * 9_000_000 + '"}')
    project.cycle()
    first = project.runs(n)[0]
    assert first.outcome == "failed" and "limit" in first.error
    project.run()
    assert project.tasks(n)["t1"].state == "done"


def test_worktree_deleted_under_a_running_worker(project: Project, tmp_path: Path) -> None:
    n, _ = project.start_slow_task(tmp_path / "first", sleep=3, tick=0.2)
    shutil.rmtree(project.root / ".shiftctl" / "worktrees" / f"{n}-t1")
    project.run()
    runs = project.runs(n)
    assert runs[0].outcome == "failed" and "worker error" in runs[0].error
    assert project.tasks(n)["t1"].state == "done" and runs[-1].outcome == "succeeded"


def test_runtime_dir_deleted_under_a_running_loop(project: Project) -> None:
    project.file_issue("Before", ONE)
    loop = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                             "run", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    try:
        time.sleep(2.5)
        shutil.rmtree(project.root / ".shiftctl")
        time.sleep(2.5)
        assert loop.poll() is None, "the loop must survive"
        out = project.cli("issue", "new", "After", "--label", "shiftctl", "--body", ONE).stdout
        n = int(out.split()[0].lstrip("#"))  # the tracker is kept: it is not in .shiftctl/
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if project.issue_state(n) == "done":
                    break
            except Exception:
                pass
            time.sleep(0.2)
        assert project.issue_state(n) == "done"
    finally:
        loop.terminate()
        out, err = loop.communicate(timeout=30)
    rungs = [json.loads(line)["rung"] for line in out.splitlines() if line.startswith("{")]
    assert "error" not in rungs[-3:]
    assert "Traceback" not in err


def test_disk_full_when_writing_state_loses_nothing(project: Project) -> None:
    n = project.file_issue("Full disk", "- [ ] a\n  ```sh\n  echo a > a\n  ```\n"
                           "- [ ] b\n  ```sh\n  echo b > b\n  ```\n")
    failures = 0
    for _ in range(8):
        proc = cli_cycle(project, SHIFTCTL_FAULT="disk_full")
        if proc.returncode != 0:
            failures += 1
            assert "database or disk is full" in proc.stderr
            assert json.loads(proc.stdout)["rung"] == "error"
    assert failures >= 1
    project.run()  # space is back
    assert project.issue_state(n) == "done"
    comments = [c["body"].splitlines()[0] for c in project.issue(n)["comments"]]
    assert len(comments) == len(set(comments))
    assert "chain intact" in project.cli("audit", "verify").stdout


def test_low_disk_is_a_health_problem_that_backs_off(project: Project,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import namedtuple

    real = shutil.disk_usage
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("shiftctl.admin.cycle.snapshot.shutil.disk_usage",
                        lambda p: usage(10**9, 10**9, 10**6))
    project.file_issue("Waits", ONE)
    first = project.cycle()
    second = project.cycle()
    assert first.rung == second.rung == "health"
    assert any("disk" in a for a in first.actions)
    assert second.sleep_s > first.sleep_s  # backs off
    assert project.runs() == []
    monkeypatch.setattr("shiftctl.admin.cycle.snapshot.shutil.disk_usage", real)
    project.run()
    assert project.cycle().rung == "sleep"


def test_an_action_that_keeps_failing_parks_its_issue_with_a_human(project: Project) -> None:
    """A branch named ``shiftctl`` makes ``shiftctl/issue-1`` impossible to create: planning
    fails every cycle, and after five tries in a row the issue waits for a person with the
    reason instead of failing forever."""
    from support.repos import git
    git(project.root, "branch", "shiftctl")
    n = project.file_issue("Blocked by a ref", "- [ ] a\n")
    results = [project.cycle() for _ in range(5)]
    assert all(r.rung == "intake" and r.errors for r in results)
    s = project.store()
    try:
        issue = s.issue(n)
    finally:
        s.close()
    assert issue is not None and issue.state == "needs_human"
    assert (issue.reason or "").startswith("shiftctl could not plan it 5 times")
    assert project.cycle().rung != "intake"
