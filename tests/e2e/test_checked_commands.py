"""Commands are checked where they are given (issue 13, item 8): a target that does not
exist or cannot take the verb is refused with the reason and a non-zero exit, nothing is
queued; ``replan`` exists; ``run --until-idle`` says why it stopped in its exit code."""
from __future__ import annotations

import json

from support.project import Project

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def requests(project: Project) -> list[str]:
    folder = project.root / ".shiftctl" / "requests"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


def test_unknown_issue_and_task_are_refused_and_nothing_is_queued(project: Project) -> None:
    n = project.file_issue("Real", ONE)
    project.run()
    for args, words in [(("approve", "99"), "no issue #99"),
                        (("cancel", "99"), "no issue #99"),
                        (("replan", "99"), "no issue #99"),
                        (("retry", f"{n}-t9"), f"no task {n}-t9 (issue #{n} has: {n}-t1)"),
                        (("retry", "99-t1"), "no issue #99"),
                        (("retry", "99"), "no issue #99"),
                        (("retry", str(n)), f"issue #{n} is done, neither on hold nor waiting"),
                        (("approve", str(n)), f"issue #{n} is done, not waiting for approval")]:
        bad = project.cli(*args, check=False)
        assert bad.returncode != 0, (args, bad.stdout)
        assert words in bad.stderr and "queued" not in bad.stdout, (args, bad.stderr)
    assert requests(project) == []


def test_retry_of_a_task_that_did_not_fail_is_refused(project: Project) -> None:
    n = project.file_issue("Fine", ONE)
    project.run()
    bad = project.cli("retry", f"{n}-t1", check=False)
    assert bad.returncode != 0 and f"task {n}-t1 is done" in bad.stderr
    assert requests(project) == []


def test_a_command_before_any_cycle_says_nothing_ran_yet(project: Project) -> None:
    bad = project.cli("approve", "1", check=False)
    assert bad.returncode != 0 and "nothing has run here yet" in bad.stderr


def test_a_valid_command_is_queued_and_says_so_in_json(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Waits", ONE)
    project.run(max_cycles=5)
    out = json.loads(project.cli("approve", str(n), "--json").stdout)
    assert out["queued"] is True and out["verb"] == "approve" and out["issue"] == n
    assert out["request"] in requests(project)


def test_replan_from_the_cli_plans_the_issue_again(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Plan twice", ONE)
    project.run()
    first = project.tasks(n)["t1"]
    assert project.issue_state(n) == "planned"
    project.cli("replan", str(n))
    project.run()
    assert project.issue_state(n) == "planned"
    s = project.store()
    try:
        issue = s.issue(n)
        assert issue is not None and issue.plan_version > first.plan_version
        replans = [c for c in s.commands(issue=n) if c.verb == "replan"]
    finally:
        s.close()
    assert [c.result for c in replans] == [f"#{n} will be planned again"]


def test_run_until_idle_exit_code_says_why_it_stopped(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Waits", ONE)
    waiting = project.cli("run", "--until-idle", check=False)
    assert waiting.returncode == 3, waiting.stdout + waiting.stderr
    assert f"waiting for a person: #{n} waits for approval" in waiting.stderr
    project.cli("approve", str(n))
    project.cli("stop")
    stopped = project.cli("run", "--until-idle", check=False)
    assert stopped.returncode == 4 and "kill switch is on" in stopped.stderr
    project.cli("start")
    done = project.cli("run", "--until-idle", "--json", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "idle": True, "exit": 0, "message": "idle: nothing left to do"}
    assert project.issue_state(n) == "done"


def test_run_until_idle_exits_3_when_a_task_needs_a_person(project: Project) -> None:
    project.configure(workers={"max_attempts": 1})
    n = project.file_issue("Fails", "- [ ] fail\n  ```sh\n  exit 1\n  ```\n")
    proc = project.cli("run", "--until-idle", check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"{n}-t1 need(s) a person (shiftctl retry {n}-t1" in proc.stderr


CHANGING = ["init", "issue new", "issue comment", "issue close", "issue reopen", "issue edit",
            "issue label", "pr merge", "approve", "retry", "cancel", "replan", "wake", "stop",
            "start", "memory add", "memory retire", "audit accept", "state backup",
            "state restore"]


def test_every_command_that_changes_something_takes_json() -> None:
    import click

    from shiftctl.admin.cli.main import cli
    for path in CHANGING:
        cmd: click.Command = cli
        for word in path.split():
            assert isinstance(cmd, click.Group)
            cmd = cmd.commands[word]
        assert any("--json" in p.opts for p in cmd.params), path


def test_kill_switch_and_wake_answer_in_json(project: Project) -> None:
    stopped = json.loads(project.cli("stop", "--json").stdout)
    assert stopped["stopped"] is True and stopped["messages"][0].startswith("kill switch on")
    assert (project.root / ".shiftctl" / "STOP").exists()
    started = json.loads(project.cli("start", "--json").stdout)
    assert started["stopped"] is False and not (project.root / ".shiftctl" / "STOP").exists()
    assert json.loads(project.cli("wake", "--json").stdout)["woke"] is True
    lesson = json.loads(project.cli("memory", "add", "Prefer small commits.", "--json").stdout)
    assert lesson["queued"] in (True, False) and lesson["messages"]
