"""The heart of it: a checklist issue becomes one ready PR holding every task's commits."""
from __future__ import annotations

from support.issues import THREE_TASKS
from support.project import Project
from support.repos import git


def marker_counts(comments: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in comments:
        first = c["body"].splitlines()[0]
        counts[first] = counts.get(first, 0) + 1
    return counts


def test_three_task_issue_ends_as_one_ready_pr_with_every_commit(any_project: Project) -> None:
    project = any_project
    n = project.file_issue("Add three files", THREE_TASKS)
    project.run()

    tasks = project.tasks(n)
    assert {k: t.state for k, t in tasks.items()} == {"t1": "done", "t2": "done", "t3": "done"}
    assert tasks["t2"].depends_on == ["t1"] and tasks["t3"].depends_on == []
    assert project.issue_state(n) == "done"

    prs = project.prs()
    assert len(prs) == 1
    pr = prs[0]
    assert pr["head"] == f"shiftctl/issue-{n}" and pr["base"] == "main"
    assert pr["draft"] is False and pr["state"] == "open" and pr["issue"] == n
    for key in ("t1", "t2", "t3"):
        assert f"[x] **{key}**" in pr["body"]

    branch = f"shiftctl/issue-{n}"
    assert git(project.root, "show", f"{branch}:a.txt") == "alpha"
    assert git(project.root, "show", f"{branch}:b.txt") == "alpha\nbeta"
    assert git(project.root, "show", f"{branch}:c.txt") == "gamma"
    log = git(project.root, "log", "--format=%s", f"main..{branch}")
    for key in ("t1", "t2", "t3"):
        assert f"shiftctl {n}-{key}:" in log  # the task's own commit
        assert f"merge {n}-{key}:" in log      # and its merge into the integration branch
    assert git(project.root, "rev-parse", "main") == git(project.root, "rev-parse", "HEAD")

    issue = project.issue(n)
    counts = marker_counts([c for c in issue["comments"] if c["author"] == project.bot])
    expected = {f"<!-- shiftctl:plan:{n}:1 -->", f"<!-- shiftctl:pr:{n}:{pr['number']} -->",
                f"<!-- shiftctl:done:{n}:1 -->"} | {
        f"<!-- shiftctl:merged:{n}:{k} -->" for k in ("t1", "t2", "t3")}
    assert set(counts) == expected
    assert all(v == 1 for v in counts.values()), counts
    assert "shiftctl:done" in issue["labels"]

    # nothing left to do: more cycles write nothing more
    before = len(issue["comments"])
    for _ in range(3):
        assert project.cycle().rung == "sleep"
    assert len(project.issue(n)["comments"]) == before


def test_pr_merge_by_a_human_closes_the_issue(project: Project) -> None:
    n = project.file_issue("One file", "- [ ] write it\n  ```sh\n  echo x > x.txt\n  ```\n")
    project.run()
    pr = project.prs()[0]
    project.cli("pr", "merge", str(pr["number"]))
    assert git(project.root, "show", "main:x.txt") == "x"
    project.run()
    assert project.issue_state(n) == "closed"
    issue = project.issue(n)
    assert issue["state"] == "closed"
    assert sum("shiftctl:closed:" in c["body"] for c in issue["comments"]) == 1
