"""Rate and usage limits (docs/design.md §3, §4): a limited run spends no attempt and no try;
the profile cools down until the provider's reset (or longer each time when none is given),
and its fallback takes over meanwhile: for work (a fallback taking a work task is in
test_agent_profiles.py), for the planner and for the reviewer.

A ``command`` agent cannot end ``rate_limited`` (its adapter never reads the provider's
words), so the scripted agent speaks opencode's JSON events and reports the limit as an
``error`` event, which the real opencode adapter recognises.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from support.agents import agent_argv, opencode_profile
from support.project import Project

LIMIT_SOON = "Rate limit reached for requests; try again in 0.5s"
LIMIT_LATER = "You have hit your usage limit; try again in 3600s"
NO_RESET = "429 Too Many Requests"
ONE = "- [ ] alpha\n  Write alpha.txt.\n"
PLAN = '```json\n{"tasks": [{"id": "a", "title": "alpha", "body": "Write alpha.txt."}]}\n```'
PASS = '```json\n{"pass": true, "findings": []}\n```'
WRITER = {"kind": "command", "argv": agent_argv("scripted.py"),
          "env": {"AGENT_WRITE": "{task}.txt:{task}"}}


def cooldowns(project: Project, n: int) -> list[dict[str, Any]]:
    s = project.store()
    try:
        return [e["data"] for e in s.iter_events(issue=n) if e["kind"] == "agent.cooldown"]
    finally:
        s.close()


def state(project: Project, key: str) -> str | None:
    s = project.store()
    try:
        return s.get(key)
    finally:
        s.close()


def test_a_limited_task_waits_for_the_reset_without_spending_an_attempt(
        project: Project, tmp_path: Path) -> None:
    project.configure(agents={"default": "main", "profiles": {"main": opencode_profile(
        AGENT_RUNS=str(tmp_path / "runs"), AGENT_WRITE="{task}.txt:{task}",
        AGENT_ERROR_1=LIMIT_SOON, AGENT_ERROR_2=LIMIT_SOON)}}, workers={"max_attempts": 1})
    n = project.file_issue("Alpha", ONE)
    project.run()

    task = project.tasks(n)["t1"]
    assert task.state == "done" and task.attempts == 1
    runs = project.runs(n)
    assert [(r.outcome, r.counted) for r in runs if r.kind == "work"] == [
        ("rate_limited", 0), ("rate_limited", 0), ("succeeded", 1)]
    limits = cooldowns(project, n)
    assert [c["reset_given"] for c in limits] == [True, True]
    for limit, after in zip(limits, runs[1:], strict=False):  # nothing started before the reset
        assert after.started_at >= limit["until"]


def test_without_a_reset_time_the_cooldown_doubles_until_the_provider_answers(
        project: Project, tmp_path: Path) -> None:
    project.configure(agents={"default": "main", "profiles": {"main": opencode_profile(
        AGENT_RUNS=str(tmp_path / "runs"), AGENT_WRITE="{task}.txt:{task}",
        AGENT_ERROR_1=NO_RESET, AGENT_ERROR_2=NO_RESET)}},
        workers={"max_attempts": 1, "cooldown": 0.4})
    n = project.file_issue("Alpha", ONE)
    project.run()

    assert project.tasks(n)["t1"].state == "done"
    runs = [r for r in project.runs(n) if r.kind == "work"]
    limits = cooldowns(project, n)
    assert [c["reset_given"] for c in limits] == [False, False]
    rests = [c["until"] - r.ended_at for c, r in zip(limits, runs, strict=False)]
    assert 0.2 < rests[0] <= 0.4 + 1e-6 and 0.6 < rests[1] <= 0.8 + 1e-6, rests
    assert state(project, "cooldown_streak:main") == "0"  # answered again: the streak ends


def test_a_limited_planner_spends_no_try(project: Project, tmp_path: Path) -> None:
    project.configure(agents={"default": "worker", "profiles": {
        "worker": WRITER, "planner": opencode_profile(
            AGENT_RUNS=str(tmp_path / "runs"), AGENT_SAY=PLAN,
            AGENT_ERROR_1=LIMIT_SOON, AGENT_ERROR_2=LIMIT_SOON)}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Alpha", "Write alpha.txt.")
    project.run()

    plans = [r for r in project.runs(n) if r.kind == "plan"]
    assert [(r.outcome, r.counted) for r in plans] == [
        ("rate_limited", 0), ("rate_limited", 0), ("succeeded", 1)]
    assert project.issue_state(n) == "done"  # two tries were not spent on the limits
    assert not any("shiftctl:plan_failed:" in c["body"] for c in project.issue(n)["comments"])


def test_a_limited_planner_hands_the_plan_to_its_fallback(project: Project) -> None:
    project.configure(agents={"default": "worker", "profiles": {
        "worker": WRITER,
        "planner": {**opencode_profile(AGENT_ERROR=LIMIT_LATER), "fallback": "backup"},
        "backup": {"kind": "command", "argv": agent_argv("scripted.py"),
                   "env": {"AGENT_SAY": PLAN}}}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Alpha", "Write alpha.txt.")
    project.run()

    plans = [r for r in project.runs(n) if r.kind == "plan"]
    assert [(r.profile, r.outcome) for r in plans] == [("planner", "rate_limited"),
                                                       ("backup", "succeeded")]
    assert project.issue_state(n) == "done"
    plan = [c for c in project.issue(n)["comments"] if "shiftctl:plan:" in c["body"]]
    assert len(plan) == 1 and "`backup` agent" in plan[0]["body"]


def test_a_limited_reviewer_spends_no_try(project: Project, tmp_path: Path) -> None:
    project.configure(agents={"default": "worker", "profiles": {
        "worker": WRITER, "reviewer": opencode_profile(
            AGENT_RUNS=str(tmp_path / "runs"), AGENT_SAY=PASS,
            AGENT_ERROR_1=LIMIT_SOON, AGENT_ERROR_2=LIMIT_SOON)}},
        review={"judge": "reviewer"})
    n = project.file_issue("Alpha", ONE)
    project.run()

    task = project.tasks(n)["t1"]
    assert task.state == "done" and task.attempts == 1
    judges = [r for r in project.runs(n) if r.kind == "judge"]
    assert [(r.outcome, r.counted, r.verdict) for r in judges] == [
        ("rate_limited", 0, None), ("rate_limited", 0, None), ("succeeded", 1, "pass")]
    work = [r for r in project.runs(n) if r.kind == "work"]
    assert len(work) == 1 and {j.subject for j in judges} == {work[0].id}
    assert {c["profile"] for c in cooldowns(project, n)} == {"reviewer"}
