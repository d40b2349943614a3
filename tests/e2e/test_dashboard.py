"""The dashboard in a real browser: ``shiftctl serve`` as a process, the loop as a process,
headless Chromium (Debian's) driven by Playwright. Pages update live over server-sent events
without a reload, and untrusted text (issue text, comments, agent output) never runs."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.agents import agent_argv
from support.project import Project
from support.repos import wait_for
from support.serve import Served

XSS = ("<script>window.__xss = 'script'</script>"
       "<img src=x onerror=\"window.__xss = 'img'\">"
       "<svg onload=\"window.__xss = 'svg'\"></svg>")
NO_RELOAD = "performance.getEntriesByType('navigation').length"


def gated(project: Project, gate: Path, **env: str) -> None:
    """One agent profile that works until ``gate`` exists, printing a line every 0.2 s."""
    project.configure(agents={"default": "gated", "profiles": {"gated": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_WAIT_FOR": str(gate), "AGENT_TICK": "0.2", "AGENT_WRITE": "x.txt:x",
                **env}}}})


def task_state(project: Project, issue: int, key: str = "t1") -> str | None:
    if not (project.root / ".shiftctl" / "state.db").exists():
        return None  # before the first cycle
    task = project.tasks(issue).get(key)
    return task.state if task else None


@pytest.fixture
def loop(project: Project) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """``shiftctl run --until-idle`` as its own process (stopped if still running)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        procs.append(subprocess.Popen([sys.executable, "-m", "shiftctl", "-C",
                                       str(project.root), "run", "--until-idle"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)


def open_page(browser: Any, served: Served, path: str) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served.url + path)
    page.wait_for_selector("#connection.on")  # the live stream is open
    page.evaluate("window.__marker = 'the same page'")
    page.errors = errors
    return page


def same_page(page: Any) -> None:
    """Nothing reloaded or navigated: the marker set after loading is still there."""
    assert page.evaluate("window.__marker") == "the same page"
    assert page.evaluate(NO_RELOAD) == 1
    assert page.errors == []


def test_a_task_changes_state_on_the_overview_without_a_reload(
        project: Project, serve: Callable[..., Served], browser: Any, loop: Any,
        tmp_path: Path) -> None:
    from playwright.sync_api import expect
    gate = tmp_path / "gate"
    gated(project, gate)
    project.cycle()  # the state db exists before anyone looks
    served = serve(project.root)
    page = open_page(browser, served, "/")

    n = project.file_issue("Watch me work", "- [ ] slow work\n")
    project.cycle_until(lambda: task_state(project, n) == "ready")
    state = page.locator(f'[data-task="{n}-t1"] .state')
    expect(state).to_have_text("ready", timeout=15_000)

    loop()  # the loop, as its own process, takes it from here
    expect(state).to_have_text("running", timeout=30_000)
    worker = page.locator("table.workers tr[data-run] .elapsed").first
    expect(worker).to_be_visible()
    before = worker.text_content()
    page.wait_for_timeout(1500)
    assert worker.text_content() != before  # elapsed time moves on by itself

    gate.touch()
    expect(state).to_have_text("done", timeout=60_000)
    expect(page.locator(f'[data-issue="{n}"] h3 .state')).to_have_text("done")
    same_page(page)
    assert page.evaluate("window.shiftctlLive.updates") >= 3


def test_the_run_page_follows_the_agent_log_live(
        project: Project, serve: Callable[..., Served], browser: Any, loop: Any,
        tmp_path: Path) -> None:
    from playwright.sync_api import expect
    gate = tmp_path / "gate"
    gated(project, gate, AGENT_SAY="Finished the slow work.")
    n = project.file_issue("Follow my log", "- [ ] slow work\n")
    project.cycle_until(lambda: task_state(project, n) == "running")
    run = project.runs(n)[0]
    served = serve(project.root)
    page = open_page(browser, served, f"/runs/{run.id}")
    log = page.locator("#log")
    wait_for((Path(run.run_dir) / "agent.log").exists, what="the agent's log")
    start = len(log.text_content() or "")
    wait_for(lambda: len(log.text_content() or "") > start + 60, timeout=15,
             what="lines the agent printed after the page loaded")
    assert "waiting for gate..." in (log.text_content() or "")

    gate.touch()
    loop()
    expect(log).to_contain_text("Finished the slow work.", timeout=60_000)
    expect(page.locator("h1 .state")).to_have_text("succeeded", timeout=30_000)
    same_page(page)


def untouched(page: Any, where: str) -> None:
    """Untrusted markup arrived as text: nothing ran, and no element was made of it."""
    assert page.evaluate("window.__xss") is None, f"{where}: injected code ran"
    assert page.evaluate("document.querySelectorAll('img, svg, iframe').length") == 0, where
    scripts = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert scripts == ["/static/live.js"], f"{where}: {scripts}"


def test_markup_in_issues_comments_and_agent_output_never_runs(
        project: Project, serve: Callable[..., Served], browser: Any, loop: Any,
        tmp_path: Path) -> None:
    from playwright.sync_api import expect
    gate = tmp_path / "gate"
    gated(project, gate, AGENT_SAY=f"Agent says {XSS}",
          AGENT_STATUS=json.dumps({"status": "done", "summary": f"summary {XSS}"}))
    n = project.file_issue(f"Title {XSS}", f"- [ ] task {XSS}\n\nBody {XSS}\n")
    project.comment(n, f"A comment {XSS}")
    project.cycle_until(lambda: task_state(project, n) == "running")
    run = project.runs(n)[0]
    served = serve(project.root)

    run_page = open_page(browser, served, f"/runs/{run.id}")
    gate.touch()  # the agent's final message now streams into the open log
    loop().wait(90)
    expect(run_page.locator("#log")).to_contain_text("Agent says <script>", timeout=30_000)
    expect(run_page.locator("h1 .state")).to_have_text("succeeded", timeout=30_000)
    expect(run_page.locator("main")).to_contain_text("summary <script>")
    untouched(run_page, "run page, followed live")
    same_page(run_page)

    issue_page = open_page(browser, served, f"/issues/{n}")
    expect(issue_page.locator("h1")).to_contain_text("Title <script>window.__xss")
    expect(issue_page.locator(".comment").first).to_contain_text(f"A comment {XSS}")
    untouched(issue_page, "issue page")
    project.comment(n, f"Another comment {XSS}")  # re-rendered live, through innerHTML
    project.cycle()
    expect(issue_page.locator(".comment")).to_have_count(project_comments(project, n),
                                                         timeout=15_000)
    untouched(issue_page, "issue page after a live update")
    same_page(issue_page)

    for path in ("/", f"/events?issue={n}"):
        page = open_page(browser, served, path)
        expect(page.locator("main")).to_contain_text("<script>window.__xss")
        untouched(page, path)


def project_comments(project: Project, number: int) -> int:
    return len(project.issue(number)["comments"])
