"""``shiftctl logs RUN|TASK [-f]`` (issue 13, item 5): a run's agent log by run id or task,
followed while the agent works until its run ends; the agent's escape sequences are shown,
never sent to the terminal; a link planted in its place is not followed."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from support.agents import agent_argv
from support.project import Project
from support.repos import wait_for


def test_logs_by_task_and_by_run_show_the_agent_output(project: Project) -> None:
    project.configure(agents={"default": "bot", "profiles": {"bot": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_WRITE": "x.txt:x", "AGENT_SAY": "hello from the agent \x1b[2J"}}}})
    n = project.file_issue("Log", "- [ ] log\n")
    project.run()
    [run] = project.runs(n)
    by_task = project.cli("logs", f"{n}-t1").stdout
    assert "hello from the agent <U+001B>[2J" in by_task and "\x1b" not in by_task
    assert project.cli("logs", run.id).stdout == by_task
    assert "hello from the agent" not in project.cli("logs", run.id, "--worker").stdout
    bad = project.cli("logs", f"{n}-t7", check=False)
    assert bad.returncode != 0 and f"no run or task '{n}-t7'" in bad.stderr


def test_a_link_in_place_of_the_log_is_not_followed(project: Project, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET\n")
    project.configure(agents={"default": "bot", "profiles": {"bot": {
        "kind": "command", "argv": agent_argv("scripted.py"), "env": {"AGENT_WRITE": "x:x"}}}})
    n = project.file_issue("Log", "- [ ] log\n")
    project.run()
    [run] = project.runs(n)
    log = Path(run.run_dir) / "agent.log"
    log.unlink()
    log.symlink_to(secret)
    bad = project.cli("logs", f"{n}-t1", check=False)
    assert bad.returncode != 0 and "TOP-SECRET" not in bad.stdout + bad.stderr
    assert "a link is never followed" in bad.stderr


def test_follow_prints_as_the_agent_works_and_ends_with_the_run(project: Project,
                                                                 tmp_path: Path) -> None:
    n, _ = project.start_slow_task(tmp_path / "started", sleep=4, tick=0.3)
    follower = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                                 "logs", f"{n}-t1", "-f"], stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout or ()), daemon=True)
    reader.start()
    try:
        def read() -> str:
            return "".join(list(lines))

        wait_for(lambda: "working..." in read(), what="a line while the agent works")
        assert follower.poll() is None  # still following: the run has not ended
        deadline = time.time() + 60
        while project.runs(n)[0].ended_at is None and time.time() < deadline:
            project.cycle()
            time.sleep(0.2)
        follower.wait(timeout=15)
        reader.join(timeout=5)
        assert read().count("working...") >= 5
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
