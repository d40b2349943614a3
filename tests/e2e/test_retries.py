"""A failing task is retried with what went wrong, then handed to a human; nothing cascades."""
from __future__ import annotations

import sys

from support.project import Project

FAILING = """\
- [ ] Break the check
  ```sh
  echo broken > broken.txt
  ```
- [ ] Depends on the broken one
  ```sh
  echo never > never.txt
  ```
- [ ] Depends on that one too
  ```sh
  echo never2 > never2.txt
  ```
"""


def test_failing_check_retries_with_its_output_then_needs_human(project: Project,
                                                               tmp_path) -> None:
    check = (f"{sys.executable} -c \"import pathlib,sys; "
             "p=pathlib.Path('broken.txt'); "
             "sys.exit('CHECK-SAYS: broken.txt must not exist') if p.exists() else None\"")
    prompts = tmp_path / "prompts.log"
    project.configure(checks=[{"name": "guard", "run": check, "timeout": 60}],
                      workers={"max_attempts": 3})
    bad = project.file_issue("Bad", FAILING)
    good = project.file_issue("Good", "- [ ] fine\n  ```sh\n  echo ok > ok.txt\n  ```\n")
    project.run()

    tasks = project.tasks(bad)
    assert tasks["t1"].state == "needs_human"
    assert tasks["t1"].attempts == 3
    assert "3 of 3 attempts" in tasks["t1"].reason
    assert tasks["t2"].state == "cancelled" and "upstream task t1" in tasks["t2"].reason
    assert tasks["t3"].state == "cancelled" and "upstream task t2" in tasks["t3"].reason
    assert project.issue_state(bad) == "needs_human"
    assert project.issue_state(good) == "done"  # other issues carry on

    runs = [r for r in project.runs(bad) if r.task_id == tasks["t1"].id]
    assert [r.attempt for r in runs] == [1, 2, 3]
    assert all(r.outcome == "rejected" for r in runs)
    # every retry's prompt carries the check's output from the attempt before
    from pathlib import Path
    for r in runs[1:]:
        prompt = (Path(r.run_dir) / "prompt.md").read_text()
        assert "CHECK-SAYS: broken.txt must not exist" in prompt
        assert f"Attempt {r.attempt - 1}: rejected" in prompt
    first = (Path(runs[0].run_dir) / "prompt.md").read_text()
    assert "Earlier attempts" not in first
    # backoff between attempts
    assert runs[1].started_at - runs[0].ended_at >= 0.2 * 0.9
    comments = project.issue(bad)["comments"]
    failed = [c for c in comments if "shiftctl:failed:" in c["body"]]
    assert len(failed) == 1 and "CHECK-SAYS" in failed[0]["body"]
    assert " in 3 attempt(s)." in failed[0]["body"] and " out tokens, $" in failed[0]["body"]
    assert "shiftctl:needs-human" in project.issue(bad)["labels"]
    assert not prompts.exists()


def test_retry_by_a_human_revives_the_cancelled_dependents(project: Project) -> None:
    project.configure(checks=[{"name": "guard", "run": "test ! -f broken.txt || test -f fixed",
                               "timeout": 60}], workers={"max_attempts": 1})
    n = project.file_issue("Bad", FAILING)
    project.run()
    assert project.tasks(n)["t2"].state == "cancelled"
    (project.root / "fixed").write_text("")  # not in the worktree: still fails
    project.cli("retry", f"{n}-t1")
    project.run()
    tasks = project.tasks(n)
    assert tasks["t1"].state == "needs_human"
    assert tasks["t1"].attempts == 2  # the retry granted a round; the first stays counted
    assert tasks["t1"].round_attempts == 1
    runs = [r for r in project.runs(n) if r.task_id == tasks["t1"].id]
    assert len(runs) == 2
    events = project.cli("events", "--issue", str(n)).stdout
    assert "revived by retry of t1" in events
