"""The reviewer (docs/design.md §7): work that passed the deterministic checks is judged by a
read-only run; its verdict merges the task or sends it back with findings."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from support.agents import agent_argv, opencode_profile
from support.project import Project
from support.repos import git

ONE = "- [ ] alpha\n  Write alpha.txt.\n  done when: alpha.txt says alpha\n"
PASS = '```json\n{"pass": true, "findings": []}\n```'
FINDING = "FINDING-42: alpha.txt needs a second line"
FAIL = '```json\n' + json.dumps({"pass": False, "findings": [FINDING]}) + '\n```'


def configure(project: Project, tmp_path: Path, reviewer: dict[str, str], *,
              worker: dict[str, str] | None = None, opencode: bool = False,
              **config: Any) -> None:
    """``opencode``: the reviewer speaks opencode's JSON events (which carry a cost)."""
    reviewer = {"AGENT_RUNS": str(tmp_path / "reviewer-runs"), **reviewer}
    project.configure(
        agents={"default": "worker", "profiles": {
            "worker": {"kind": "command", "argv": agent_argv("scripted.py"),
                       "env": {"AGENT_WRITE": "{task}.txt:{task}", **(worker or {})}},
            "reviewer": opencode_profile(**reviewer) if opencode else {
                "kind": "command", "argv": agent_argv("scripted.py"), "env": reviewer}}},
        review={"judge": "reviewer"}, **config)


def runs(project: Project, n: int, kind: str) -> list[Any]:
    return [r for r in project.runs(n) if r.kind == kind]


def test_a_passing_verdict_merges_the_task_and_opens_the_pr(project: Project, tmp_path) -> None:
    configure(project, tmp_path, {"AGENT_SAY": PASS})
    n = project.file_issue("Alpha", ONE)
    project.run()

    assert project.tasks(n)["t1"].state == "done" and project.issue_state(n) == "done"
    [work], [judge] = runs(project, n, "work"), runs(project, n, "judge")
    assert judge.subject == work.id and judge.verdict == "pass" and judge.outcome == "succeeded"
    assert work.ended_at <= judge.started_at
    assert work.commits == [judge.base_sha]  # it looks at a checkout of the work itself
    prompt = (Path(judge.run_dir) / "prompt.md").read_text()
    assert "# The task: alpha" in prompt and "alpha.txt says alpha" in prompt
    assert "+alpha" in prompt  # the diff it judges
    prs = project.prs()
    assert len(prs) == 1 and prs[0]["issue"] == n
    assert git(project.root, "show", f"shiftctl/issue-{n}:alpha.txt") == "alpha"
    merged = [c for c in project.issue(n)["comments"] if "shiftctl:merged:" in c["body"]]
    assert len(merged) == 1


def test_a_failing_verdict_sends_the_task_back_with_its_findings(project: Project,
                                                                 tmp_path) -> None:
    prompts = tmp_path / "work-prompts.txt"
    configure(project, tmp_path, {"AGENT_SAY_1": FAIL, "AGENT_SAY_2": PASS},
              worker={"AGENT_ECHO_PROMPT": str(prompts)})
    n = project.file_issue("Alpha", ONE)
    project.run()

    task = project.tasks(n)["t1"]
    assert task.state == "done" and task.attempts == 2
    work, judges = runs(project, n, "work"), runs(project, n, "judge")
    assert [r.outcome for r in work] == ["rejected", "succeeded"]
    assert work[0].findings == [FINDING]
    assert [(j.subject, j.verdict) for j in judges] == [(work[0].id, "fail"),
                                                          (work[1].id, "pass")]
    first, second = prompts.read_text().split("\n=====\n")[:2]
    assert FINDING not in first
    assert FINDING in second
    assert len(project.prs()) == 1


def test_work_that_fails_a_check_never_reaches_the_reviewer(project: Project, tmp_path) -> None:
    configure(project, tmp_path, {"AGENT_SAY": PASS},
              checks=[{"name": "guard", "run": "test ! -f alpha.txt", "timeout": 30}],
              workers={"max_attempts": 2})
    n = project.file_issue("Alpha", ONE)
    project.run()

    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and task.attempts == 2
    assert [r.outcome for r in runs(project, n, "work")] == ["rejected", "rejected"]
    assert runs(project, n, "judge") == []
    assert not (tmp_path / "reviewer-runs").exists()  # the reviewer never started
    assert project.prs() == []


def test_an_unusable_verdict_twice_hands_the_task_to_a_human_once(project: Project,
                                                                  tmp_path) -> None:
    configure(project, tmp_path, {"AGENT_SAY_1": "Looks fine to me.",
                                  "AGENT_SAY_2": '```json\n{"pass": "yes"}\n```',
                                  "AGENT_SAY_3": PASS})
    n = project.file_issue("Alpha", ONE)
    project.run()

    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and task.attempts == 1
    assert "could not give a verdict 2 times" in task.reason
    judges = runs(project, n, "judge")
    assert [(j.outcome, j.verdict) for j in judges] == [("failed", None), ("failed", None)]
    assert "holds no JSON object" in judges[0].error
    assert '"pass": true or false' in judges[1].error
    failed = [c for c in project.issue(n)["comments"] if "shiftctl:failed:" in c["body"]]
    assert len(failed) == 1
    assert "passed its checks but needs a human" in failed[0]["body"]
    assert '"pass": true or false' in failed[0]["body"] and "/retry t1" in failed[0]["body"]
    for _ in range(3):
        project.cycle()
    assert len(runs(project, n, "judge")) == 2
    assert project.prs() == []


def test_the_reviewers_cost_counts_toward_the_task_and_issue(project: Project,
                                                             tmp_path) -> None:
    configure(project, tmp_path, {"AGENT_SAY": PASS, "AGENT_BILL": "1000"},
              opencode=True)
    n = project.file_issue("Alpha", ONE)
    project.run()

    [work], [judge] = runs(project, n, "work"), runs(project, n, "judge")
    assert judge.verdict == "pass" and judge.cost_usd > 0.1 and work.cost_usd == 0
    issue = next(i for i in project.cli_json("status")["issues"] if i["number"] == n)
    assert issue["state"] == "done"
    assert issue["tasks"][0]["cost_usd"] == round(judge.cost_usd, 4)
    assert issue["cost_usd"] == round(judge.cost_usd, 4)


def test_an_open_reviewer_run_is_not_started_twice(project: Project, tmp_path) -> None:
    configure(project, tmp_path, {"AGENT_SAY": PASS, "AGENT_SLEEP": "1.5"})
    n = project.file_issue("Alpha", ONE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        project.cycle()  # plan, promote, spawn, collect, then review: the reviewer starts
        if runs(project, n, "judge"):
            break
        time.sleep(0.05)
    [judge] = runs(project, n, "judge")
    while_open, deadline = [], time.monotonic() + 30
    while not (Path(judge.run_dir) / "result.json").exists() and time.monotonic() < deadline:
        while_open.append(project.cycle().rung)
        time.sleep(0.1)
    assert len(while_open) >= 3 and "review" not in while_open
    assert project.tasks(n)["t1"].state == "review"
    assert len(runs(project, n, "judge")) == 1
    project.run()
    assert project.tasks(n)["t1"].state == "done"
    assert len(runs(project, n, "judge")) == 1
