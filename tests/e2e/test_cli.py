"""The command line contract (docs/cli.md): help everywhere, JSON shapes, errors on stderr."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import click
import pytest

from shiftctl.admin.cli.main import cli
from shiftctl.admin.cycle.lock import AdminLock

from support.agents import agent_argv
from support.project import Project
from support.repos import make_repo, outside_tmp


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))


def test_every_command_has_help_text() -> None:
    for path, cmd in all_commands(cli):
        assert cmd.help or cmd.short_help, f"shiftctl {' '.join(path)} has no help"


def test_contract_commands_exist() -> None:
    names = {" ".join(p) for p, _ in all_commands(cli)}
    for want in ["init", "doctor", "issue new", "issue list", "issue show", "issue comment",
                 "issue close", "pr list", "pr show", "pr merge", "cycle", "nap", "wake", "run",
                 "status", "events", "approve", "retry", "cancel", "stop", "start",
                 "audit verify", "demo"]:
        assert want in names


def test_json_shapes(project: Project) -> None:
    out = project.cli("issue", "new", "Shape", "--body", "- [ ] a\n  ```sh\n  echo a > a\n  ```",
                      "--label", "shiftctl", "--json").stdout
    n = json.loads(out)["number"]
    project.cli("issue", "comment", str(n), "hello")
    shown = project.cli_json("issue", "show", str(n))
    assert set(shown) == {"number", "title", "body", "labels", "author", "state", "comments"}
    assert set(shown["comments"][0]) == {"id", "author", "body", "created_at"}
    assert shown["author"] == "alice"
    project.run()
    prs = project.cli_json("pr", "list")
    assert len(prs) == 1
    assert set(prs[0]) == {"number", "title", "head", "base", "state", "draft", "issue"}
    status = project.cli_json("status")
    assert {"issues", "workers"} <= set(status)
    issue = status["issues"][0]
    assert {"number", "title", "state", "pr", "cost_usd", "tasks"} <= set(issue)
    assert {"id", "title", "state", "attempts", "cost_usd"} <= set(issue["tasks"][0])
    assert issue["pr"] == prs[0]["number"] and status["next_wake"] is not None
    events = [json.loads(line) for line in project.cli("events", "--json").stdout.splitlines()]
    assert events and {"id", "ts", "kind", "issue", "task", "data"} <= set(events[0])
    text = project.cli("status").stdout
    assert f"#{n}" in text and "done" in text


def test_errors_go_to_stderr_with_nonzero_exit(project: Project, tmp_path) -> None:
    bad = project.cli("issue", "show", "999", check=False)
    assert bad.returncode != 0 and "no issue #999" in bad.stderr and bad.stdout == ""
    (project.root / "shiftctl.yaml").write_text("workers: {max_concurrent: many}\n")
    bad = project.cli("status", check=False)
    assert bad.returncode != 0
    assert "workers.max_concurrent: 'many'" in bad.stderr
    elsewhere = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(tmp_path),
                                "status"], capture_output=True, text=True)
    assert elsewhere.returncode != 0 and "shiftctl init" in elsewhere.stderr


def test_a_second_admin_reports_busy(project: Project) -> None:
    lock = AdminLock(project.root / ".shiftctl" / "admin.lock")
    assert lock.acquire()
    try:
        data = json.loads(project.cli("cycle", "--json").stdout)
        assert data["rung"] == "busy" and data["actions"] == []
    finally:
        lock.release()
    assert json.loads(project.cli("cycle", "--json").stdout)["rung"] == "sleep"


def test_init_writes_a_working_setup(tmp_path) -> None:
    repo = make_repo(tmp_path / "fresh")
    out = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(repo), "init"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (repo / "shiftctl.yaml").exists()
    assert (repo / ".shiftctl" / ".gitignore").read_text() == "*\n"
    doctor = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(repo),
                             "doctor"], capture_output=True, text=True)
    assert "repository" in doctor.stdout and "sqlite" in doctor.stdout
    again = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(repo), "init"],
                           capture_output=True, text=True)
    assert "kept existing" in again.stdout
    not_git = tmp_path / "plain"
    not_git.mkdir()
    bad = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(not_git), "init"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "not a git repository" in bad.stderr


def test_doctor_names_a_missing_agent(project: Project) -> None:
    project.configure(agents={"default": "ghost", "profiles": {"ghost": {
        "kind": "command", "argv": ["definitely-not-installed-agent"]}}})
    out = project.cli("doctor", check=False)
    assert out.returncode == 1
    assert "definitely-not-installed-agent" in out.stdout and "FAIL" in out.stdout


def test_doctor_names_agent_settings_the_cli_is_known_to_refuse(project: Project) -> None:
    """Codex cannot sandbox itself with CODEX_HOME under /tmp (the test HOME is there)."""
    project.configure(agents={"default": "cx", "profiles": {"cx": {
        "kind": "codex", "argv": [sys.executable]}}})
    out = project.cli("doctor", check=False)
    assert out.returncode == 1 and "under /tmp, where Codex cannot set up its sandbox" in out.stdout
    home = outside_tmp("codex-home")
    try:
        project.configure(agents={"default": "cx", "profiles": {"cx": {
            "kind": "codex", "argv": [sys.executable], "env": {"CODEX_HOME": str(home)}}}})
        assert "Codex cannot" not in project.cli("doctor", check=False).stdout
    finally:
        home.rmdir()


def test_missing_agent_cli_parks_the_task_with_a_reason(project: Project) -> None:
    project.configure(agents={"default": "ghost", "profiles": {"ghost": {
        "kind": "command", "argv": ["definitely-not-installed-agent"]}}})
    n = project.file_issue("x", "- [ ] a\n")
    project.run()
    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and "not installed" in task.reason
    assert project.runs(n) == []


def test_kill_switch_ends_workers_and_holds_dispatch(project: Project, tmp_path) -> None:
    project.configure(agents={"default": "slow", "profiles": {"slow": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "60", "AGENT_TICK": "0.3", "AGENT_WRITE": "a:a"}}}})
    n = project.file_issue("x", "- [ ] slow\n")
    while project.cycle().rung != "assign":
        pass
    started = time.monotonic()
    out = project.cli("stop").stdout
    assert "ended 1 worker" in out and time.monotonic() - started < 15
    for _ in range(4):
        project.cycle()
    run = project.runs(n)[0]
    assert run.outcome == "stopped" and run.counted == 0
    task = project.tasks(n)["t1"]
    assert task.state == "ready" and task.attempts == 0  # the stop cost no attempt
    assert len(project.runs(n)) == 1  # nothing dispatched while stopped
    assert "KILL SWITCH" in project.cli("status").stdout
    project.cli("start")
    assert project.cycle().rung == "assign"
    assert len(project.runs(n)) == 2


@pytest.mark.parametrize("args", [["nap", "0.1"], ["wake"]])
def test_small_commands_run(project: Project, args) -> None:
    project.cli(*args)


def test_events_follow_prints_new_events_as_they_happen(project: Project) -> None:
    import queue
    import threading

    project.cycle()
    follower = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C",
                                 str(project.root), "events", "--follow", "--json"],
                                stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout], daemon=True).start()
    try:
        time.sleep(1.0)
        n = project.file_issue("Followed", "- [ ] a\n  ```sh\n  echo a > a\n  ```\n")
        project.run()
        seen: list[dict] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                e["kind"] == "issue.state" and e["data"]["new"] == "done" for e in seen):
            try:
                seen.append(json.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                pass
        assert any(e["kind"] == "issue.new" and e["issue"] == n for e in seen)
        assert any(e["kind"] == "issue.state" and e["data"]["new"] == "done" for e in seen)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
