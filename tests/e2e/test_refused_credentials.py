"""Refused credentials with scripted agents (the real CLIs' own words are in test_claude.py and
test_codex.py): a planner whose key is refused hands the issue to a person after its two tries,
the profile is marked, and a person's `/replan` after the fix clears the mark and goes on."""
from __future__ import annotations

import json

from support.agents import opencode_profile
from support.project import Project

PLAN = {"tasks": [{"id": "a", "title": "alpha", "depends_on": [],
                   "body": "Write alpha.txt.\n```sh\necho alpha > alpha.txt\n```\n"}]}
REFUSED = "Error: 401 Unauthorized: invalid x-api-key"


def planner(project: Project, **env: str) -> None:
    project.configure(agents={"default": "shell", "profiles": {
        "shell": {"kind": "shell"}, "planner": opencode_profile(**env)}},
        planner={"kind": "agent", "profile": "planner"})


def refusals(project: Project) -> dict[str, str]:
    s = project.store()
    try:
        return s.refusals()
    finally:
        s.close()


def test_a_refused_planner_parks_the_issue_and_a_replan_after_the_fix_goes_on(
        project: Project) -> None:
    p = project
    planner(p, AGENT_ERROR=REFUSED)
    n = p.file_issue("Plan me", "Write alpha.txt, please.")
    p.run()
    runs = [r for r in p.runs(n) if r.kind == "plan"]
    assert [r.outcome for r in runs] == ["unauthenticated", "unauthenticated"]
    assert p.issue_state(n) == "needs_human"
    assert "401 Unauthorized" in refusals(p)["planner"]
    assert "refused the credentials" in p.cli("status").stdout

    planner(p, AGENT_SAY="```json\n" + json.dumps(PLAN) + "\n```")  # the key is fixed
    p.comment(n, "/replan")
    p.run()
    assert refusals(p) == {}
    assert p.issue_state(n) == "done"
    assert [t.title for t in p.tasks(n).values() if t.state == "done"] == ["alpha"]
