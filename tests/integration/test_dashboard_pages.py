"""What the dashboard's pages show, from a real ``shiftctl serve``: the event log's filters,
pages before any state exists, and GitHub issue pages that cost no API request."""
from __future__ import annotations

import re
import time
from collections.abc import Callable

from shiftctl.memory.store import Store

from support.github import GithubProject
from support.project import Project
from support.serve import Served

WORK = ("- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"
        "- [ ] then\n  ```sh\n  echo 2 > 2.txt\n  ```\n")


def shown_events(served: Served, query: str) -> list[int]:
    reply = served.request(f"/events?{query}")
    assert reply.status == 200
    return [int(x) for x in re.findall(r'data-event="(\d+)"', reply.text)]


def test_the_event_log_filters_by_issue_task_and_kind(project: Project,
                                                      serve: Callable[..., Served]) -> None:
    first = project.file_issue("First", WORK)
    project.file_issue("Second", WORK)
    project.run()
    served = serve(project.root)
    s = project.store()
    try:
        everything = list(s.iter_events())
    finally:
        s.close()

    def expect(keep: Callable[[dict], bool], limit: int = 200) -> list[int]:
        return sorted((e["id"] for e in everything if keep(e)), reverse=True)[:limit]

    assert shown_events(served, f"issue={first}") == expect(lambda e: e["issue"] == first)
    assert shown_events(served, f"issue={first}&kind=task.") == expect(
        lambda e: e["issue"] == first and e["kind"].startswith("task."))
    assert shown_events(served, f"task={first}-t2&kind=run.end") == expect(
        lambda e: e["task"] == f"{first}-t2" and e["kind"] == "run.end")
    newest = shown_events(served, "limit=5")
    assert newest == expect(lambda e: True, 5)
    page = served.request("/events?limit=5").text
    assert f"before={newest[-1]}" in page  # the way to older events
    assert shown_events(served, f"limit=5&before={newest[-1]}") == expect(
        lambda e: e["id"] < newest[-1], 5)


def test_before_a_first_cycle_every_page_says_so_instead_of_failing(
        project: Project, serve: Callable[..., Served]) -> None:
    served = serve(project.root)
    assert "No issues yet" in served.request("/").text
    assert served.request("/events").status == 200
    assert "No lessons yet" in served.request("/memory").text
    assert served.request("/issues/1").status == 404
    assert served.request("/runs/nope").status == 404


def test_an_issue_page_on_github_shows_the_conversation_without_asking_github(
        gh_project: GithubProject, serve: Callable[..., Served]) -> None:
    n = gh_project.file_issue("Work", WORK)
    gh_project.comment(n, "/approve")
    gh_project.run()
    served = serve(gh_project.root)
    mark = gh_project.gh.fake.mark()
    page = served.request(f"/issues/{n}").text
    assert gh_project.gh.fake.since(mark) == []  # a page view costs no quota
    assert "shiftctl planned this issue as 2 task(s)" in page
    assert "/approve" in page and "alice" in page
    assert "&lt;!-- shiftctl:" not in page  # hidden markers stay hidden
    repo = f"{gh_project.gh.world.owner}/{gh_project.gh.world.name}"
    pr = gh_project.prs()[0]["number"]
    assert f'/{repo}/issues/{n}"' in page and f'/{repo}/pull/{pr}"' in page  # GitHub's pages


def test_the_overview_names_profiles_that_cannot_run_and_why(
        project: Project, serve: Callable[..., Served]) -> None:
    project.cycle()
    s = Store.open(project.root / ".shiftctl" / "state.db")
    try:
        s.refuse_profile("claude", "claude: not logged in: Not logged in (run 1-t1-a1-x)")
        s.put("cooldown:codex", repr(time.time() + 600))
    finally:
        s.close()
    page = serve(project.root).request("/").text
    assert "Credentials refused" in page and "claude: not logged in" in page
    assert "Cooling down" in page and "codex" in page
