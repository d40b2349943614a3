"""Progress in the terminal (issue 13, item 5): what the agent's stream reported so far
(tokens, cost, turns, last activity) shows while it works, in ``run`` and ``status``; the
end state keeps tokens and turns; a next wake is never promised without a loop; costs keep
their digits; long lines end with an ellipsis."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from shiftctl.admin.cli.progress import running
from shiftctl.admin.paths import Paths

from support.agents import agent_argv
from support.project import Project
from support.repos import wait_for


def stream_profile(project: Project, sleep: float) -> None:
    project.configure(agents={"default": "fake", "profiles": {"fake": {
        "kind": "claude", "argv": agent_argv("stream_agent.py"),
        "env": {"STREAM_SLEEP": str(sleep)}}}})


def test_status_shows_what_a_running_agent_reported_so_far(project: Project) -> None:
    stream_profile(project, sleep=30)
    n = project.file_issue("Stream", "- [ ] stream\n")
    while project.cycle().rung != "assign":
        pass
    paths = Paths(project.root)
    wait_for(lambda: any(w["activity"] for w in running(paths)), what="the first report")
    [w] = running(paths)
    assert (w["task"], w["tokens_in"], w["tokens_out"], w["turns"]) == (f"{n}-t1", 1200, 300, 1)
    assert w["activity"] == "Bash: pytest -q"
    text = project.cli("status").stdout
    assert f"{n}-t1" in text and "1.2k/300 tok" in text and "Bash: pytest -q" in text


def test_run_prints_progress_lines_and_the_result_keeps_tokens_and_turns(
        project: Project) -> None:
    stream_profile(project, sleep=3)
    n = project.file_issue("Stream", "- [ ] stream\n")
    out = project.cli("run", "--until-idle", "--progress", "--every", "0.3").stdout
    ticks = [line for line in out.splitlines() if line.startswith("  … ")]
    assert any(f"{n}-t1" in t and "Bash: pytest -q" in t and "1.2k/300 tok" in t
               for t in ticks), out
    assert project.issue_state(n) == "done"
    status = project.cli_json("status")
    [task] = status["issues"][0]["tasks"]
    assert (task["tokens_in"], task["tokens_out"], task["turns"]) == (1700, 400, 2)
    assert task["cost_usd"] == 0.005
    text = project.cli("status").stdout
    assert "$0.005" in text and "2 turns" in text and "$0.01" not in text


def test_run_json_prints_no_progress_lines(project: Project) -> None:
    stream_profile(project, sleep=1)
    project.file_issue("Stream", "- [ ] stream\n")
    out = project.cli("run", "--until-idle", "--json", "--every", "0.2").stdout
    assert all(json.loads(line) for line in out.splitlines())


def test_status_says_no_loop_runs_instead_of_a_next_wake(project: Project) -> None:
    project.file_issue("Quick", "- [ ] q\n  ```sh\n  echo q > q.txt\n  ```\n")
    project.run()
    text = project.cli("status").stdout
    assert "no loop running" in text and "next wake" not in text
    assert project.cli_json("status")["loop_pid"] is None
    project.configure(sleep={"idle": 60, "after_action": 0, "busy": 2, "wake_check": 0.5})
    loop = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: project.cli_json("status")["loop_pid"] == loop.pid,
                 what="the loop to say it runs")
        assert f"(loop pid {loop.pid})" in project.cli("status").stdout
    finally:
        loop.terminate()
        loop.wait(timeout=30)
    deadline = time.time() + 10
    while project.cli_json("status")["loop_pid"] is not None and time.time() < deadline:
        time.sleep(0.1)
    assert "no loop running" in project.cli("status").stdout


def test_status_filters_open_and_one_issue(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    done = project.file_issue("Done one", "- [ ] d\n  ```sh\n  echo d > d.txt\n  ```\n",
                              labels=("shiftctl", "shiftctl:approved"))
    waiting = project.file_issue("Waiting one", "- [ ] w\n")
    project.cli("run", "--until-idle", check=False)
    assert project.issue_state(done) == "done"
    numbers = [i["number"] for i in project.cli_json("status", "--open")["issues"]]
    assert numbers == [waiting]
    only = project.cli_json("status", "--issue", str(done))["issues"]
    assert [i["number"] for i in only] == [done]
    assert "Waiting one" not in project.cli("status", "--issue", str(done)).stdout


def test_a_forged_heartbeat_is_bounded_and_cleaned(project: Project) -> None:
    """An unsandboxed agent can write its run directory: what ``status`` prints from the
    heartbeat is numbers in range and one line of text without terminal escapes."""
    from shiftctl.admin.cli.progress import heartbeat
    from shiftctl.memory.store import Run
    paths = Paths(project.root)
    run = Run(id="9-t1-a1-000000", issue=9, started_at=0.0, run_dir="x")
    paths.run_dir(run.id).mkdir(parents=True)
    (paths.run_dir(run.id) / "heartbeat").write_text(json.dumps({
        "phase": "\x1b[2Jagent", "progress": {
            "tokens_in": 10**30, "tokens_out": -5, "turns": True, "cost_usd": float("1e300"),
            "activity": "\x1b]52;c;cGF3bmVk\x07<!-- hidden -->ok\nsecond line"}}))
    beat = heartbeat(paths, run)
    assert beat == {"phase": "[2Jagent", "tokens_in": 0, "tokens_out": 0, "turns": 0,
                    "cost_usd": 0.0, "activity": "]52;c;cGF3bmVkok second line"}


def test_status_watch_redraws_until_interrupted(project: Project) -> None:
    import signal
    n = project.file_issue("Watched", "- [ ] w\n  ```sh\n  echo w > w.txt\n  ```\n")
    project.run()
    watch = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                              "status", "--watch", "--every", "0.2", "--json"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert watch.stdout is not None
        frames = [json.loads(watch.stdout.readline()) for _ in range(3)]
        assert all(f["issues"][0]["number"] == n for f in frames)
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=10) == 0
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
