"""The agent planner (docs/design.md §6): a read-only run answers with a JSON plan; an unusable plan
gets one corrective run, then a person."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from support.agents import agent_argv, opencode_profile
from support.project import Project
from support.repos import git, wait_for


def fenced(plan: Any) -> str:
    return "Here is the plan.\n\n```json\n" + json.dumps(plan, indent=1) + "\n```"


PLAN = {"tasks": [
    {"id": "a", "title": "alpha", "body": "Write alpha.txt.", "depends_on": [],
     "success_criteria": ["alpha.txt exists"], "paths": ["alpha.txt"]},
    {"id": "b", "title": "beta", "body": "Write beta.txt.", "depends_on": ["a"],
     "paths": ["beta.txt"]},
]}


def configure(project: Project, tmp_path: Path, **planner_env: str) -> None:
    project.configure(
        agents={"default": "worker", "profiles": {
            "worker": {"kind": "command", "argv": agent_argv("scripted.py"),
                       "env": {"AGENT_WRITE": "{task}.txt:{task}"}},
            "planner": {"kind": "command", "argv": agent_argv("scripted.py"),
                        "env": {"AGENT_RUNS": str(tmp_path / "planner-runs"), **planner_env}}}},
        planner={"kind": "agent", "profile": "planner"})


def plan_runs(project: Project, n: int) -> list[Any]:
    return [r for r in project.runs(n) if r.kind == "plan"]


def test_a_json_plan_becomes_keyed_tasks_that_run_to_a_pr(project: Project, tmp_path) -> None:
    configure(project, tmp_path, AGENT_SAY=fenced(PLAN))
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    project.run()

    tasks = project.tasks(n)
    assert list(tasks) == ["t1", "t2"]
    assert tasks["t1"].title == "alpha" and tasks["t1"].depends_on == []
    assert tasks["t1"].success_criteria == ["alpha.txt exists"]
    assert tasks["t2"].title == "beta" and tasks["t2"].depends_on == ["t1"]
    assert {t.state for t in tasks.values()} == {"done"}
    assert project.issue_state(n) == "done"
    [run] = plan_runs(project, n)
    prompt = (Path(run.run_dir) / "prompt.md").read_text()
    assert "Please write alpha.txt, then beta.txt." in prompt
    plans = [c for c in project.issue(n)["comments"] if "shiftctl:plan:" in c["body"]]
    assert len(plans) == 1
    assert "**t2** beta (after t1)" in plans[0]["body"] and "`planner` agent" in plans[0]["body"]
    prs = project.prs()
    assert len(prs) == 1 and prs[0]["issue"] == n and prs[0]["draft"] is False
    branch = f"shiftctl/issue-{n}"
    assert git(project.root, "show", f"{branch}:alpha.txt") == "alpha"
    assert git(project.root, "show", f"{branch}:beta.txt") == "beta"


CYCLE = {"tasks": [{"id": "a", "title": "alpha", "depends_on": ["b"]},
                   {"id": "b", "title": "beta", "depends_on": ["a"]}]}
UNKNOWN = {"tasks": [{"id": "a", "title": "alpha"},
                     {"id": "b", "title": "beta", "depends_on": ["zzz"]}]}
INVALID = {"cycle": (fenced(CYCLE), "the plan's dependencies form a cycle: "),
           "unknown dependency": (fenced(UNKNOWN), "task b depends on unknown task 'zzz'"),
           "not json": ("I would start with alpha, then do beta.", "holds no JSON object")}


@pytest.mark.parametrize("kind", list(INVALID))
def test_an_invalid_plan_gets_one_corrective_run_with_the_error(project: Project, tmp_path,
                                                                kind: str) -> None:
    answer, error = INVALID[kind]
    configure(project, tmp_path, AGENT_SAY_1=answer, AGENT_SAY_2=fenced(PLAN))
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    project.run()

    runs = plan_runs(project, n)
    assert [(r.attempt, r.outcome) for r in runs] == [(1, "failed"), (2, "succeeded")]
    assert error in runs[0].error
    first = (Path(runs[0].run_dir) / "prompt.md").read_text()
    second = (Path(runs[1].run_dir) / "prompt.md").read_text()
    assert "previous plan was rejected" not in first
    assert "previous plan was rejected" in second and error in second
    assert {k: t.state for k, t in project.tasks(n).items()} == {"t1": "done", "t2": "done"}
    assert project.issue_state(n) == "done"
    comments = project.issue(n)["comments"]
    assert sum("shiftctl:plan:" in c["body"] for c in comments) == 1
    assert not any("shiftctl:plan_failed:" in c["body"] for c in comments)


def test_invalid_twice_hands_the_issue_to_a_human_and_stops_planning(project: Project,
                                                                     tmp_path) -> None:
    configure(project, tmp_path, AGENT_SAY_1=fenced(CYCLE), AGENT_SAY_2=fenced(UNKNOWN),
              AGENT_SAY_3=fenced(PLAN))
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    project.run()

    assert project.issue_state(n) == "needs_human"
    assert project.tasks(n) == {}
    assert len(plan_runs(project, n)) == 2
    failed = [c for c in project.issue(n)["comments"] if "shiftctl:plan_failed:" in c["body"]]
    assert len(failed) == 1
    assert "the agent planner failed 2 times" in failed[0]["body"]
    assert "task b depends on unknown task 'zzz'" in failed[0]["body"]  # the last reason
    assert "shiftctl:needs-human" in project.issue(n)["labels"]
    assert not any("shiftctl:plan:" in c["body"] for c in project.issue(n)["comments"])
    for _ in range(3):  # nothing more happens until a person acts
        assert project.cycle().rung == "sleep"
    assert len(plan_runs(project, n)) == 2
    assert (tmp_path / "planner-runs").read_text() == "2"

    project.comment(n, "/replan")  # a person acts: the planner gets fresh tries
    project.run()
    assert project.issue_state(n) == "done"
    assert len(plan_runs(project, n)) == 3
    assert {k: t.state for k, t in project.tasks(n).items()} == {"v2t1": "done",
                                                                 "v2t2": "done"}


def test_an_open_planner_run_is_not_started_twice(project: Project, tmp_path) -> None:
    configure(project, tmp_path, AGENT_SAY=fenced(PLAN), AGENT_SLEEP="1.5")
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    assert project.cycle().rung == "intake"
    [run] = plan_runs(project, n)
    while_open, deadline = [], time.monotonic() + 30
    while not (Path(run.run_dir) / "result.json").exists() and time.monotonic() < deadline:
        while_open.append(project.cycle().rung)
        time.sleep(0.1)
    assert len(while_open) >= 3 and "intake" not in while_open
    assert len(plan_runs(project, n)) == 1
    project.run()
    assert project.issue_state(n) == "done" and len(plan_runs(project, n)) == 1


def test_the_planner_looks_at_a_detached_checkout_and_changes_nothing(project: Project,
                                                                      tmp_path) -> None:
    seen = tmp_path / "seen.txt"
    main = git(project.root, "rev-parse", "main")
    project.configure(
        agents={"default": "worker", "profiles": {
            "worker": {"kind": "command", "argv": agent_argv("scripted.py"),
                       "env": {"AGENT_WRITE": "{task}.txt:{task}"}},
            "planner": {"kind": "command",
                        "argv": ["bash", "-c", "{ git symbolic-ref -q HEAD || echo detached; "
                                 f"git rev-parse HEAD; pwd; }} > {seen}; exec \"$0\" \"$@\"",
                                 *agent_argv("scripted.py")],
                        "env": {"AGENT_SAY": fenced(PLAN), "AGENT_COMMIT": "1",
                                "AGENT_WRITE": "scratch.txt:planner was here,README.md:gone"}}}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    while project.cycle().rung != "intake":
        pass
    run = plan_runs(project, n)[0]
    result_file = Path(run.run_dir) / "result.json"
    wait_for(result_file.exists, what="the planner's result")
    # the worker itself removed the checkout, before any admin cycle could
    assert not Path(run.worktree).exists()
    assert run.worktree not in git(project.root, "worktree", "list")
    assert seen.read_text().split("\n")[:3] == ["detached", main, run.worktree]
    result = json.loads(result_file.read_text())
    assert result["outcome"] == "succeeded" and result["commits"] == []
    assert "discarded_changes" in result["extra"]

    project.run()
    assert project.issue_state(n) == "done"
    assert git(project.root, "rev-parse", "main") == main
    assert "agent: ?" not in git(project.root, "log", "--all", "--format=%s")
    branch = f"shiftctl/issue-{n}"
    files = git(project.root, "ls-tree", "-r", "--name-only", branch).split()
    assert sorted(files) == ["README.md", "alpha.txt", "beta.txt"]
    assert git(project.root, "show", f"{branch}:README.md") == "# target"
    assert not (project.root / "scratch.txt").exists()


def test_the_planners_cost_counts_toward_the_issue(project: Project, tmp_path) -> None:
    project.configure(
        agents={"default": "worker", "profiles": {
            "worker": {"kind": "command", "argv": agent_argv("scripted.py"),
                       "env": {"AGENT_WRITE": "{task}.txt:{task}"}},
            # the command adapter reads no cost from a read-only run's answer; opencode's
            # JSON events carry it, so the planner speaks those
            "planner": opencode_profile(AGENT_SAY=fenced(PLAN), AGENT_BILL="2500")}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    project.run()

    run = plan_runs(project, n)[0]
    assert run.outcome == "succeeded" and run.cost_usd > 0.1 and run.tokens_in > 0
    status = project.cli_json("status")
    issue = next(i for i in status["issues"] if i["number"] == n)
    assert issue["state"] == "done"
    assert issue["cost_usd"] == pytest.approx(run.cost_usd, abs=1e-4)
    assert [t["cost_usd"] for t in issue["tasks"]] == [0, 0]  # the plan is nobody's task


def test_a_command_planner_reports_its_cost_in_a_status_block_after_the_plan(
        project: Project) -> None:
    """Any program can plan: its answer is the JSON plan, and a ``shiftctl`` block after it
    reports what it used, so the budget sees a read-only run's cost too."""
    project.configure(
        agents={"default": "worker", "profiles": {
            "worker": {"kind": "command", "argv": agent_argv("scripted.py"),
                       "env": {"AGENT_WRITE": "{task}.txt:{task}"}},
            "planner": {"kind": "command", "argv": agent_argv("scripted.py"),
                        "env": {"AGENT_SAY": fenced(PLAN), "AGENT_BILL": "2500"}}}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Two files", "Please write alpha.txt, then beta.txt.")
    project.run()

    run = plan_runs(project, n)[0]
    assert run.outcome == "succeeded" and run.cost_usd > 0.1 and run.tokens_in > 0
    assert project.issue_state(n) == "done"
