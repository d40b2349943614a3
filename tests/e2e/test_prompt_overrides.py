"""A repository's prompt override that tries to run Python in the admin: nothing runs, the task
waits for a person with a message naming the file, the loop carries on, and once the file is
fixed a retry works."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.agents import agent_argv
from support.project import Project

ESCAPE = "Be brief.\n{{ cycler.__init__.__globals__.os.system('touch PWNED') }}\n"


def test_a_template_that_escapes_parks_the_task_and_the_loop_survives(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)  # where an escape's `touch PWNED` would land
    prompts = tmp_path / "prompts.txt"
    (project.root / "p").mkdir()
    (project.root / "p" / "work.md.j2").write_text(ESCAPE)
    project.configure(prompts_dir="p", agents={"default": "echo", "profiles": {"echo": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_ECHO_PROMPT": str(prompts), "AGENT_WRITE": "{task}.txt:x"}}}})
    n = project.file_issue("Knob", "- [ ] add the knob\n- [ ] other issue work\n")
    other = project.file_issue("Other", "- [ ] more\n")
    result = project.run(max_seconds=60)
    assert result.rung == "sleep"  # the loop reached its rest, no crash loop
    assert not (project.root / "PWNED").exists() and not (tmp_path / "PWNED").exists()
    assert project.runs(n) == [] and project.runs(other) == []  # no agent started
    assert not prompts.exists()
    t1 = project.tasks(n)["t1"]
    assert t1.state == "needs_human"
    assert "prompt template p/work.md.j2 line 2: SecurityError" in (t1.reason or "")
    parked = [c["body"] for c in project.issue(n)["comments"] if "shiftctl:parked:" in c["body"]]
    assert len(parked) == 1 and "p/work.md.j2" in parked[0] and "/retry t1" in parked[0]
    events = [json.loads(line) for line in project.cli("events", "--json").stdout.splitlines()]
    errors = [e for e in events if e["kind"] == "action.error"]
    assert errors and all("p/work.md.j2" in e["data"]["error"] for e in errors)

    (project.root / "p" / "work.md.j2").write_text("Keep it small.\n{% if %}\n")  # still broken
    project.comment(n, "/retry t1")
    project.run(max_seconds=60)
    parked = [c["body"] for c in project.issue(n)["comments"] if "shiftctl:parked:" in c["body"]]
    assert len(parked) == 2 and "TemplateSyntaxError" in parked[1]  # each failure says so
    assert project.runs(n) == []

    (project.root / "p" / "work.md.j2").write_text("Keep it small.\n\n{{ default }}\n")
    project.comment(n, "/retry t1")
    project.comment(other, "/retry t1")
    project.run(max_seconds=60)
    assert project.issue_state(n) == "done" and project.issue_state(other) == "done"
    first = (Path(project.runs(n)[0].run_dir) / "prompt.md").read_text()
    assert first.startswith("Keep it small.\n\nYou are a coding agent")
    assert "```issue\n- [ ] add the knob" in first
