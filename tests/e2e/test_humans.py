"""People steer: approve, retry, cancel, replan, answer questions. From the CLI or comments."""
from __future__ import annotations

from pathlib import Path

from support.agents import agent_argv
from support.project import Project

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def test_plan_waits_for_approval_from_the_cli(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Needs approval", ONE)
    project.run()
    assert project.issue_state(n) == "planned"
    assert "shiftctl:planned" in project.issue(n)["labels"]
    plan = [c for c in project.issue(n)["comments"] if "shiftctl:plan:" in c["body"]]
    assert len(plan) == 1 and "/approve" in plan[0]["body"]
    project.cli("approve", str(n))
    assert list((project.root / ".shiftctl" / "requests").iterdir()) != []
    project.run()
    assert project.issue_state(n) == "done"
    assert list((project.root / ".shiftctl" / "requests").iterdir()) == []


def test_approved_label_counts_as_approval(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Pre-approved", ONE, labels=("shiftctl", "shiftctl:approved"))
    project.run()
    assert project.issue_state(n) == "done"


def test_cancel_comment_stops_a_running_issue(project: Project, tmp_path) -> None:
    project.configure(agents={"default": "slow", "profiles": {"slow": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "60", "AGENT_TICK": "0.5"}}}})
    n = project.file_issue("Slow", "- [ ] slow\n- [ ] after\n")
    while project.cycle().rung != "assign":
        pass
    project.comment(n, "/cancel")
    project.run()
    assert project.issue_state(n) == "cancelled"
    tasks = project.tasks(n)
    assert {t.state for t in tasks.values()} == {"cancelled"}
    run = project.runs(n)[0]
    assert run.ended_at is not None and run.outcome == "stopped"
    assert sum("shiftctl:cancelled:" in c["body"] for c in project.issue(n)["comments"]) == 1


def test_cli_cancel_and_unknown_task_retry(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("To cancel", ONE)
    project.run()
    project.cli("cancel", str(n))
    bad = project.cli("retry", "nonsense", check=False)
    assert bad.returncode != 0 and "not a task id" in bad.stderr
    project.run()
    assert project.issue_state(n) == "cancelled"


def test_a_question_is_posted_once_and_the_answer_reaches_the_next_prompt(
        project: Project, tmp_path) -> None:
    once = tmp_path / "asked"
    prompts = tmp_path / "prompts.txt"
    status_q = '{"status": "blocked", "question": "Which colour should the button be?"}'
    project.configure(agents={"default": "asker", "profiles": {"asker": {
        "kind": "command",
        "argv": ["bash", "-c",
                 f"if [ -e {once} ]; then exec \"$0\" \"$@\"; fi; touch {once}; "
                 f"echo 'Need input.'; printf '```shiftctl\\n%s\\n```\\n' '{status_q}'",
                 *agent_argv("scripted.py")],
        "env": {"AGENT_WRITE": "colour.txt:blue", "AGENT_ECHO_PROMPT": str(prompts)}}}})
    n = project.file_issue("Paint it", "- [ ] paint the button\n")
    project.run()
    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and task.reason.startswith("question:")
    assert task.attempts == 0  # asking is not failing
    questions = [c for c in project.issue(n)["comments"] if "shiftctl:question:" in c["body"]]
    assert len(questions) == 1 and "Which colour" in questions[0]["body"]
    project.comment(n, "Blue, please: #0000ff.", author="mallory")  # not allowed: ignored
    project.run()
    assert project.tasks(n)["t1"].state == "needs_human"
    project.comment(n, "Blue, please: #0000ff.")
    project.run()
    assert project.tasks(n)["t1"].state == "done"
    assert "Blue, please: #0000ff." in prompts.read_text()
    assert Path(project.root / ".shiftctl").exists()


def test_replan_starts_over_with_a_new_plan(project: Project) -> None:
    project.configure(approval={"plans": "always"})
    n = project.file_issue("Replan me", ONE)
    project.run()
    t = project.tracker()
    t.conn.execute("UPDATE issues SET body = ? WHERE number = ?",
                   ("- [ ] one\n  ```sh\n  echo 1 > 1.txt\n  ```\n- [ ] two\n  ```sh\n"
                    "  echo 2 > 2.txt\n  ```\n", n))
    t.close()
    project.comment(n, "/replan")
    project.run()
    tasks = project.tasks(n)
    assert tasks["t1"].state == "cancelled"
    assert {tasks["v2t1"].state, tasks["v2t2"].state} == {"pending", "ready"} or \
        project.issue_state(n) == "planned"
    plans = [c for c in project.issue(n)["comments"] if "shiftctl:plan:" in c["body"]]
    assert len(plans) == 2
    project.comment(n, "/approve")
    project.run()
    assert project.issue_state(n) == "done"
