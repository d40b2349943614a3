"""What a person reads about finished work (issue 13, item 5): a rejection says why, and the
PR body and the merged comment carry each task's tokens, turns and cost, its summary (inert:
an agent's "Closes #N" or "@someone" does nothing), its checks and results, its "done when"."""
from __future__ import annotations

import json
import re

from support.agents import agent_argv
from support.project import Project


def test_a_rejection_in_the_run_output_says_why(project: Project) -> None:
    project.configure(workers={"max_attempts": 1}, agents={"default": "stray", "profiles": {
        "stray": {"kind": "command", "argv": agent_argv("scripted.py"),
                  "env": {"AGENT_WRITE": "elsewhere.txt:x"}}}})
    n = project.file_issue("Stay in a.txt", "- [ ] write a\n  paths: a.txt\n")
    out = project.cli("run", "--until-idle", check=False).stdout
    [line] = [x for x in out.splitlines() if f"reject {n}-t1" in x]
    assert "rejected -> needs_human: review: " in line and "elsewhere.txt" in line, line


def test_pr_body_and_merged_comment_report_each_task(project: Project) -> None:
    status = {"status": "done", "summary": "Closes #99, thanks @bob"}
    project.configure(checks=[{"name": "unit", "run": "test -f x.txt"}],
                      agents={"default": "bot", "profiles": {"bot": {
                          "kind": "command", "argv": agent_argv("scripted.py"),
                          "env": {"AGENT_WRITE": "x.txt:x", "AGENT_BILL": "3",
                                  "AGENT_STATUS": json.dumps(status)}}}})
    n = project.file_issue("Report", "- [ ] make x\n  done when: x.txt exists\n")
    project.run()
    assert project.issue_state(n) == "done"
    [pr] = project.prs()
    body = pr["body"]
    [run] = [r for r in project.runs(n) if r.kind == "work"]
    assert run.tokens_in > 0
    assert 0.001 < run.cost_usd < 0.01  # three significant digits of it, not "$0.00"
    spent = f"{run.tokens_in} in / 0 out tokens, ${run.cost_usd:.3g}"
    assert f"**t1** make x — done, 1 attempt(s), {spent}\n" in body, body
    assert "  - summary: `Closes #99, thanks @bob`\n" in body
    assert re.search(r"\n  - check `unit`: passed in [0-9.]+s\n", body), body  # with its time
    assert "  - done when: x.txt exists\n" in body
    merged = [c["body"] for c in project.issue(n)["comments"] if "Merged task" in c["body"]]
    assert len(merged) == 1 and f"after 1 attempt(s): {spent}." in merged[0]
