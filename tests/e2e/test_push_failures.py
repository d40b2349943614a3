"""A push the remote refuses is parked with a person after five tries, like any failing
action; a remote that cannot be reached (an outage) is waited out and never parks the issue."""
from __future__ import annotations

from github_fake import bare as bare_repo
from support.github import GithubProject
from support.repos import git

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def errors(p: GithubProject, n: int) -> list[str]:
    s = p.store()
    try:
        return [e["data"]["error"] for e in s.iter_events() if e["kind"] == "action.error"
                and e["data"]["action"].endswith(f" {n}")]
    finally:
        s.close()


def test_a_refused_push_is_parked_with_a_person_after_five_tries(
        gh_project: GithubProject) -> None:
    p = gh_project
    # someone else's commit is already on the remote branch: every push is non-fast-forward
    main = bare_repo.rev(p.gh.bare, "main")
    foreign = bare_repo.git(p.gh.bare, "-c", "user.name=x", "-c", "user.email=x@x",
                            "commit-tree", f"{main}^{{tree}}", "-p", main, "-m", "foreign")
    bare_repo.git(p.gh.bare, "update-ref", "refs/heads/shiftctl/issue-1", foreign)
    n = p.file_issue("Push me", ONE)
    assert n == 1
    p.run(max_seconds=120)

    assert p.issue_state(n) == "needs_human"
    assert p.remote_branch(f"shiftctl/issue-{n}") == foreign  # nothing was forced over it
    assert p.prs() == []
    refused = [e for e in errors(p, n) if e.startswith("push refused")]
    assert len(refused) == 5, errors(p, n)
    assert "rejected" in refused[-1]
    parked = [c["body"] for c in p.issue(n)["comments"] if f"shiftctl:parked:{n}:" in c["body"]]
    assert len(parked) == 1 and "5 times" in parked[0] and "/retry" in parked[0]
    assert "shiftctl:needs-human" in p.issue(n)["labels"]

    # the person clears the way and says /retry: the issue completes
    bare_repo.git(p.gh.bare, "update-ref", "-d", "refs/heads/shiftctl/issue-1")
    p.comment(n, "/retry")
    p.run()
    assert p.issue_state(n) == "done"
    assert p.remote_branch(f"shiftctl/issue-{n}") == git(p.root, "rev-parse",
                                                         f"shiftctl/issue-{n}")


def test_an_unreachable_remote_is_waited_out_without_parking(gh_project: GithubProject) -> None:
    p = gh_project
    url = git(p.root, "remote", "get-url", "origin")
    git(p.root, "remote", "set-url", "origin", "http://127.0.0.1:9/nobody.git")  # refused
    n = p.file_issue("Push me later", ONE)
    p.run(max_seconds=60)  # returns after ten failing cycles in a row

    assert p.issue_state(n) == "active"
    failed = errors(p, n)
    assert len(failed) >= 6 and all(e.startswith("tracker: ") for e in failed), failed
    assert not any("shiftctl:parked:" in c["body"] for c in p.issue(n)["comments"])

    git(p.root, "remote", "set-url", "origin", url)  # the remote is back
    p.run()
    assert p.issue_state(n) == "done"
    assert [pr["draft"] for pr in p.prs()] == [False]
