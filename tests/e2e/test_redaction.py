"""Nothing secret leaves: a failing check that prints its environment, an issue and a task
title quoting a key, an agent whose question, summary and learnings hold one. On the local
tracker and on (fake) GitHub, every write shiftctl makes and every prompt it renders holds
``[redacted]`` where the values were; the GitHub fake's log shows every request body sent."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from support.agents import agent_argv
from support.github import TOKEN as GH_TOKEN
from support.github import GithubProject
from support.project import Project

KEY = "sk-ant-api03-" + "Zx9" * 14
DEPLOY = "deploy-0f1e2d3c4b5a69788796"
GITHUB = "ghp_" + "LocalTrackerTok3n" * 3


def secrets() -> list[str]:
    forms = [KEY, DEPLOY, GITHUB, GH_TOKEN]
    return forms + [base64.b64encode(f"x-access-token:{v}".encode()).decode() for v in forms]


def written(project: Project) -> list[str]:
    """Everything shiftctl wrote to the tracker: its comments, its pull requests, and on GitHub
    the body of every request it sent."""
    out = [json.dumps(pr) for pr in project.prs()]
    numbers = {pr["issue"] for pr in project.prs()} | {r.issue for r in project.runs()}
    for n in numbers:
        out += [c["body"] for c in project.issue(n)["comments"] if c["author"] == project.bot]
    if isinstance(project, GithubProject):
        sent = [e.body for e in project.gh.fake.log if e.method != "GET" and e.body]
        assert sent, "the fake recorded no request bodies"
        out += [b.decode("utf-8", "replace") for b in sent]
        out += [json.dumps(json.loads(b)) for b in sent]  # whatever JSON escaping hid
    return out


def leaked(texts: list[str]) -> list[str]:
    return [t[:200] for t in texts if any(s in t for s in secrets())]


def prompts(project: Project) -> list[str]:
    return [(Path(r.run_dir) / "prompt.md").read_text() for r in project.runs()]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("DEPLOY_TOKEN", DEPLOY)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB)


CHECK = "if [ -f fail.txt ]; then echo 'the environment:'; env | sort; exit 1; fi"


def test_a_check_printing_its_environment_leaks_nothing_to_the_tracker_or_prompts(
        any_project: Project, env: None) -> None:
    p = any_project
    agents = {"default": "bot", "profiles": {"bot": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "pass_env": ["ANTHROPIC_API_KEY", "DEPLOY_TOKEN"], "env": {"AGENT_WRITE": "{task}.txt:x"}}}}
    p.configure(checks=[{"name": "env", "run": CHECK, "timeout": 60}],
                workers={"max_attempts": 2}, agents=agents)
    n = p.file_issue(f"Ship it with {DEPLOY}",
                     f"My key is {KEY}, please keep it.\n\n"
                     f"- [ ] (parallel) fine work for {DEPLOY}\n"
                     "- [ ] (parallel) fail with the environment\n")
    p.run()
    tasks = p.tasks(n)
    assert tasks["t1"].state == "done" and tasks["t2"].state == "needs_human"
    out = written(p)
    assert leaked(out) == []
    failed = [t for t in out if "shiftctl:failed:" in t and "the environment:" in t]
    assert failed, "the check's output was not posted at all"
    assert "ANTHROPIC_API_KEY=[redacted]" in failed[0] and "DEPLOY_TOKEN=[redacted]" in failed[0]
    # with checks, the PR opens once the integrated branch passed them: a person relaxes the
    # check and retries t2
    p.configure(checks=[{"name": "env", "run": "true", "timeout": 60}],
                workers={"max_attempts": 2}, agents=agents)
    p.cli("retry", f"{n}-t2")
    p.run()
    assert leaked(written(p)) == []
    (pr,) = p.prs()
    assert "fine work for [redacted]" in pr["body"] and "[redacted]" in pr["title"]
    texts = prompts(p)
    assert texts and leaked(texts) == []
    retry = [t for t in texts if "# Earlier attempts" in t]
    assert retry and "ANTHROPIC_API_KEY=[redacted]" in retry[0]  # the check output is there
    assert "My key is [redacted], please keep it." in retry[0]  # and the issue body


def test_an_agents_question_summary_and_learnings_leak_nothing(any_project: Project, env: None,
                                                               tmp_path: Path) -> None:
    p = any_project
    blocked = json.dumps({"status": "blocked", "question": f"Is {KEY} the key to use?",
                          "summary": f"tried {KEY}", "learnings": [f"use {DEPLOY}"]})
    p.configure(agents={"default": "bot", "profiles": {"bot": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_RUNS": str(tmp_path / "runs"), "AGENT_STATUS_1": blocked,
                "AGENT_WRITE": "{task}.txt:x", "AGENT_LEARN_2": f"{KEY} opens the door"}}}})
    n = p.file_issue("Use the key", "- [ ] wire the key\n")
    p.run()
    assert p.tasks(n)["t1"].state == "needs_human"
    questions = [t for t in written(p) if "shiftctl:question:" in t]
    assert questions and "Is [redacted] the key to use?" in questions[0]
    p.comment(n, f"Yes, it is {KEY}.")  # a person's answer quotes it
    p.run()
    assert p.tasks(n)["t1"].state == "done"
    assert leaked(written(p)) == []
    texts = prompts(p)
    assert len(texts) == 2 and leaked(texts) == []
    assert "Yes, it is [redacted]." in texts[1] and "Summary: tried [redacted]" in texts[1]
