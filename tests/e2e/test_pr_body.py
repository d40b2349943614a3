"""The PR body follows the tasks: re-rendered whenever one of its issue's tasks changes."""
from __future__ import annotations

from support.project import Project

TWO = """\
- [ ] one
  ```sh
  echo 1 > one.txt
  ```
- [ ] two
  ```sh
  echo trying > two.txt; exit 3
  ```
"""


def test_the_pr_body_says_what_became_of_each_task(any_project: Project) -> None:
    p = any_project
    p.configure(workers={"max_attempts": 2})
    n = p.file_issue("Half works", TWO)
    p.run()
    tasks = p.tasks(n)
    assert tasks["t1"].state == "done"
    assert tasks["t2"].state == "needs_human" and tasks["t2"].attempts == 2
    prs = [pr for pr in p.prs() if pr["issue"] == n]
    assert len(prs) == 1 and prs[0]["draft"]
    body = prs[0]["body"]
    assert "**t1** one — done, 1 attempt(s)" in body
    assert "**t2** two — needs_human, 2 attempt(s)" in body
    p.comment(n, "/retry t2")
    p.run()
    body = next(pr for pr in p.prs() if pr["issue"] == n)["body"]
    assert "**t2** two — needs_human, 4 attempt(s)" in body
