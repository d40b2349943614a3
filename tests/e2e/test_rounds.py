"""Every outcome a person must act on reaches them, also in the second and later rounds: a
failure after ``/retry``, a second "stuck", a second question from the same attempt. And a
person's retry never hands out more attempts than it says."""
from __future__ import annotations

import json

from support.agents import agent_argv
from support.project import Project

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"
FAILS = {"checks": [{"name": "guard", "run": "echo GUARD-SAYS-NO; false", "timeout": 60}]}


def _comments(p: Project, n: int, kind: str) -> list[str]:
    return [c["body"] for c in p.issue(n)["comments"] if f"shiftctl:{kind}:{n}:" in c["body"]]


def _work_runs(p: Project, n: int) -> int:
    return len([r for r in p.runs(n) if r.kind == "work"])


def test_a_failure_after_retry_is_reported_and_the_issue_is_stuck_again_aloud(
        any_project: Project) -> None:
    p = any_project
    p.configure(workers={"max_attempts": 2}, **FAILS)
    n = p.file_issue("Never passes", ONE)
    p.run()
    assert p.tasks(n)["t1"].state == "needs_human"
    assert len(_comments(p, n, "failed")) == 1 and len(_comments(p, n, "stuck")) == 1
    p.comment(n, "/retry t1")
    p.run()
    task = p.tasks(n)["t1"]
    assert task.state == "needs_human" and task.attempts == 4  # never reset to 0
    assert _work_runs(p, n) == 4
    failed = _comments(p, n, "failed")
    assert len(failed) == 2 and all("GUARD-SAYS-NO" in f for f in failed)
    assert all("it grants 2 more attempt(s)" in f for f in failed)  # what /retry would do
    assert len(_comments(p, n, "stuck")) == 2
    granted = _comments(p, n, "retry")
    assert len(granted) == 1 and "granted 2 more attempt(s)" in granted[0]
    assert "shiftctl:needs-human" in p.issue(n)["labels"]


def test_a_retry_during_the_automatic_backoff_resets_nothing(project: Project) -> None:
    p = project
    p.configure(workers={"max_attempts": 2, "backoff_base": 3, "backoff_cap": 3}, **FAILS)
    n = p.file_issue("Retried while waiting", ONE)
    p.cycle_until(lambda: p.tasks(n) and p.tasks(n)["t1"].state == "retry",
                  what="the first attempt to fail")
    assert p.tasks(n)["t1"].state == "retry" and p.tasks(n)["t1"].attempts == 1
    p.cli("retry", f"{n}-t1")
    p.run()
    task = p.tasks(n)["t1"]
    assert task.state == "needs_human" and task.attempts == 2
    assert _work_runs(p, n) == 2  # two are allowed: the retry granted none
    assert "grants none" in (task.reason or "") or any(
        "grants none" in c for c in _comments(p, n, "retry"))


def test_a_second_different_question_from_the_same_attempt_is_posted(
        project: Project, tmp_path) -> None:
    p = project
    ask = {"AGENT_RUNS": str(tmp_path / "runs"), "AGENT_WRITE": "x.txt:x",
           "AGENT_STATUS_1": json.dumps({"status": "blocked", "question": "Red or blue?"}),
           "AGENT_STATUS_2": json.dumps({"status": "blocked", "question": "Matte or gloss?"})}
    p.configure(agents={"default": "asker", "profiles": {"asker": {
        "kind": "command", "argv": agent_argv("scripted.py"), "env": ask}}})
    n = p.file_issue("Paint it", "- [ ] paint\n")
    p.run()
    assert len(_comments(p, n, "question")) == 1
    p.comment(n, "Blue.")
    p.run()
    task = p.tasks(n)["t1"]
    assert task.state == "needs_human" and task.attempts == 0  # questions spend nothing
    questions = _comments(p, n, "question")
    assert len(questions) == 2
    assert "Red or blue?" in questions[0] and "Matte or gloss?" in questions[1]
    p.comment(n, "Matte.")
    p.run()
    assert p.tasks(n)["t1"].state == "done"
