"""Recursive breakdown (docs/design.md §3, §5): a worker that answers ``needs_breakdown`` gets its
task replaced by subtasks, in order, within the depth limit, never repeating a task."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.agents import agent_argv
from support.project import Project
from support.repos import git

ISSUE = "- [ ] parent\n  Do the parent thing.\n- [ ] after\n  Finish up.\n"


def breakdown(*subtasks: tuple[str, str]) -> str:
    return json.dumps({"status": "needs_breakdown", "summary": "too big for one go",
                       "subtasks": [{"title": t, "body": b} for t, b in subtasks]})


def configure(project: Project, tmp_path: Path, **per_run: str) -> None:
    """One profile for every task; ``per_run`` keys like ``AGENT_STATUS_1`` script the n-th
    run (the tasks run one after another)."""
    project.configure(agents={"default": "worker", "profiles": {"worker": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_WRITE": "{task}.txt:{task}", "AGENT_RUNS": str(tmp_path / "runs"),
                **per_run}}}}, workers={"max_attempts": 1})


def work_runs(project: Project, n: int) -> list[Any]:
    return [r for r in project.runs(n) if r.kind == "work"]


def test_subtasks_run_in_order_in_place_of_their_parent(project: Project, tmp_path) -> None:
    configure(project, tmp_path, AGENT_WRITE_1="",
              AGENT_STATUS_1=breakdown(("one", "First half."), ("two", "Second half.")))
    n = project.file_issue("Split me", ISSUE)
    project.run()

    tasks = project.tasks(n)
    assert list(tasks) == ["t1", "t2", "t1.1", "t1.2"]
    assert tasks["t1"].state == "cancelled" and tasks["t1"].reason == "broken down into subtasks"
    one, two = tasks["t1.1"], tasks["t1.2"]
    assert (one.title, one.body, one.parent, one.depth) == ("one", "First half.", "t1", 1)
    assert (two.title, two.parent, two.depth) == ("two", "t1", 1)
    assert one.depends_on == [] and two.depends_on == ["t1.1"]
    assert tasks["t2"].depends_on == ["t1.2"]  # the parent's dependent waits for the last one
    assert {k: t.state for k, t in tasks.items() if k != "t1"} == {
        "t2": "done", "t1.1": "done", "t1.2": "done"}
    assert project.issue_state(n) == "done"

    runs = {r.task_id: r for r in work_runs(project, n)}
    order = [runs[tasks[k].id] for k in ("t1.1", "t1.2", "t2")]
    assert order[0].ended_at <= order[1].started_at and order[1].ended_at <= order[2].started_at
    branch = f"shiftctl/issue-{n}"
    for name in ("one", "two", "after"):
        assert git(project.root, "show", f"{branch}:{name}.txt") == name
    [pr] = project.prs()
    assert "t1.1" in pr["body"] and "t1.2" in pr["body"] and pr["draft"] is False


def test_a_breakdown_deeper_than_max_depth_fails_the_task(project: Project, tmp_path) -> None:
    configure(project, tmp_path,
              AGENT_STATUS_1=breakdown(("one", "First half."), ("two", "Second half.")),
              AGENT_STATUS_2=breakdown(("one-a", ""), ("one-b", "")))
    project.configure(**{**project.settings, "limits": {"max_depth": 1}})
    n = project.file_issue("Split me", ISSUE)
    project.run()

    tasks = project.tasks(n)
    assert sorted(tasks) == ["t1", "t1.1", "t1.2", "t2"]  # no t1.1.1
    one = tasks["t1.1"]
    why = "breakdown refused: task t1.1 is at depth 1 and limits.max_depth is 1"
    assert one.state == "needs_human" and why in one.reason
    assert work_runs(project, n)[-1].error == why
    assert tasks["t1.2"].state == "cancelled" and "upstream" in tasks["t1.2"].reason
    assert tasks["t2"].state == "cancelled"
    failed = [c for c in project.issue(n)["comments"] if "shiftctl:failed:" in c["body"]]
    assert len(failed) == 1 and why in failed[0]["body"]
    assert project.issue_state(n) == "needs_human"


def test_a_subtask_that_repeats_an_ancestor_is_refused_as_a_cycle(project: Project,
                                                                  tmp_path) -> None:
    configure(project, tmp_path,
              AGENT_STATUS_1=breakdown(("one", "First half."), ("two", "Second half.")),
              # the grandparent again, in other case and spacing: the same fingerprint
              AGENT_STATUS_2=breakdown(("Parent", "do the  parent\nthing.")))
    n = project.file_issue("Split me", ISSUE)
    project.run()

    tasks = project.tasks(n)
    assert sorted(tasks) == ["t1", "t1.1", "t1.2", "t2"]
    assert tasks["t1.1"].state == "needs_human"
    assert "breakdown refused: subtask 'Parent' repeats the task it came from (a cycle)" \
        in tasks["t1.1"].reason
    assert project.issue_state(n) == "needs_human"


def test_a_subtask_that_duplicates_an_existing_task_is_refused(project: Project,
                                                               tmp_path) -> None:
    # "after" is t2, which already exists (and waits for t1)
    configure(project, tmp_path, AGENT_STATUS_1=breakdown(("after", "Finish up.")))
    n = project.file_issue("Split me", ISSUE)
    project.run()

    tasks = project.tasks(n)
    assert sorted(tasks) == ["t1", "t2"]
    assert tasks["t1"].state == "needs_human" and "breakdown refused" in tasks["t1"].reason
    assert "duplicate" in tasks["t1"].reason
    assert tasks["t2"].state == "cancelled" and tasks["t2"].depends_on == ["t1"]
    assert project.issue_state(n) == "needs_human"


def test_a_breakdown_partly_duplicating_an_existing_task_is_refused(project: Project,
                                                                    tmp_path) -> None:
    configure(project, tmp_path,
              AGENT_STATUS_1=breakdown(("after", "Finish up."), ("extra", "Something new.")))
    n = project.file_issue("Split me", ISSUE)
    result = project.run(max_seconds=20)

    tasks = project.tasks(n)
    assert sorted(tasks) == ["t1", "t2"], {k: (t.state, t.depends_on) for k, t in tasks.items()}
    assert tasks["t1"].state == "needs_human"
    assert "breakdown refused: subtask 'after' duplicates task t2" in tasks["t1"].reason
    assert project.issue_state(n) == "needs_human"
    assert result.progressable is False
