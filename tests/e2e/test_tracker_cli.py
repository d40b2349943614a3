"""One CLI for both trackers (issue 13, items 7 and 9): ``issue new/list/show/comment`` and
``pr list/show`` work on GitHub through its API as on the local tracker; ``issue edit``,
``issue label --add/--remove`` and ``issue reopen`` let a person do from the CLI what they
would do on GitHub, and the loop follows (a label hands an issue over)."""
from __future__ import annotations

import json

from support.github import GithubProject
from support.project import Project

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def test_local_edit_label_and_reopen_and_the_loop_follows(project: Project) -> None:
    n = json.loads(project.cli("issue", "new", "Draft title", "--body", "draft",
                               "--json").stdout)["number"]
    project.run()
    assert project.cli_json("status")["issues"] == []  # no intake label: not taken up
    edited = json.loads(project.cli("issue", "edit", str(n), "--title", "Real title",
                                    "--body", ONE, "--json").stdout)
    assert (edited["title"], edited["body"]) == ("Real title", ONE)
    labelled = json.loads(project.cli("issue", "label", str(n), "--add", "shiftctl",
                                      "--add", "later", "--json").stdout)
    assert labelled["labels"] == ["shiftctl", "later"]
    assert project.cli_json("issue", "show", str(n))["labels"] == ["shiftctl", "later"]
    project.cli("issue", "label", str(n), "--remove", "later")
    project.run()
    assert project.issue_state(n) == "done"
    assert (project.root / "go.txt").exists() is False  # merged on the PR branch, not main
    project.cli("issue", "close", str(n))
    assert project.issue(n)["state"] == "closed"
    assert json.loads(project.cli("issue", "reopen", str(n), "--json").stdout)["state"] == "open"
    again = project.cli("issue", "reopen", str(n), check=False)
    assert again.returncode != 0 and "open already" in again.stderr


def test_local_bad_edits_are_refused_and_change_nothing(project: Project) -> None:
    n = project.file_issue("Keep", "text")
    for args, words in [(("issue", "edit", str(n)), "nothing to change"),
                        (("issue", "edit", str(n), "--title", "  "), "needs a title"),
                        (("issue", "edit", "99", "--title", "x"), "no issue #99"),
                        (("issue", "label", str(n)), "nothing to change"),
                        (("issue", "label", str(n), "--add", "a", "--remove", "a"), "both"),
                        (("issue", "label", "99", "--add", "a"), "no issue #99"),
                        (("issue", "close", "99"), "no issue #99")]:
        bad = project.cli(*args, check=False)
        assert bad.returncode != 0 and words in bad.stderr, (args, bad.stderr)
    assert project.issue(n)["title"] == "Keep" and project.issue(n)["labels"] == ["shiftctl"]


def test_issue_and_pr_commands_work_on_github(gh_project: GithubProject) -> None:
    p = gh_project
    world = p.gh.world
    made = json.loads(p.cli("issue", "new", "From the CLI", "--body", ONE, "--label",
                            "shiftctl", "--json").stdout)
    n = made["number"]
    assert world.item(n).title == "From the CLI" and world.item(n).author == p.bot
    listed = p.cli_json("issue", "list")
    assert [i["number"] for i in listed] == [n]
    p.cli("issue", "comment", str(n), "a note from the CLI")
    shown = p.cli_json("issue", "show", str(n))
    assert shown["comments"][-1]["body"] == "a note from the CLI"
    refused = p.cli("issue", "comment", str(n), "x", "--author", "bob", check=False)
    assert refused.returncode != 0 and "--author is for the local tracker" in refused.stderr

    other = p.file_issue("Someone's issue", ONE, labels=())
    p.cli("issue", "edit", str(other), "--title", "Renamed")
    p.cli("issue", "label", str(other), "--add", "bug")
    assert world.item(other).title == "Renamed" and "bug" in world.item(other).labels
    p.cli("issue", "close", str(other))
    assert world.item(other).state == "closed"
    p.cli("issue", "reopen", str(other))
    assert world.item(other).state == "open"

    work = p.file_issue("Alice's work", ONE)  # the CLI files as the token's account, which
    p.run()                                     # is not an allowed author here
    prs = p.cli_json("pr", "list")
    assert len(prs) == 1 and prs[0]["head"] == f"shiftctl/issue-{work}"
    assert prs[0]["issue"] == work
    text = p.cli("pr", "show", str(prs[0]["number"])).stdout
    assert f"shiftctl/issue-{work} -> main" in text and f"Closes #{work}." in text
    merge = p.cli("pr", "merge", str(prs[0]["number"]), check=False)
    assert merge.returncode != 0 and "local tracker only" in merge.stderr
