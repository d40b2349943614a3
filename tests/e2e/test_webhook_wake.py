"""React to GitHub in seconds: the loop (``shiftctl run``, a process) naps for half an hour
and checks GitHub only every half hour; a signed ``issues.labeled`` webhook to ``shiftctl
serve`` (another process) wakes it, and the issue is planned within 2 s.

The fake GitHub here does not check each exchange against GitHub's OpenAPI description (the
other GitHub tests do, for the same requests): this test times shiftctl, not the checker."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.github import GithubProject, github_project
from support.repos import wait_for
from support.serve import Served
from support.webhooks import SECRET, SECRET_ENV, about, deliver, example

TARGET_S = 2.0
NAP = {"after_action": 0, "busy": 1800, "idle": 1800, "wake_check": 1800}


@pytest.fixture
def gh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GithubProject]:
    yield from github_project(tmp_path, monkeypatch, validate=False)


@pytest.fixture
def loop(gh_project: GithubProject) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts ``shiftctl run`` (forever, not until idle); stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "shiftctl", "-C", str(gh_project.root), "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs[-1]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(30)


def cycles(p: GithubProject) -> int:
    s = p.store()
    try:
        return int(s.conn.execute("SELECT COUNT(*) FROM cycles WHERE ended_at IS NOT NULL")
                   .fetchone()[0])
    finally:
        s.close()


def wakes(p: GithubProject) -> dict[str, int]:
    s = p.store()
    try:
        return s.wakes()
    finally:
        s.close()


def planned(p: GithubProject, number: int) -> bool:
    s = p.store()
    try:
        issue = s.issue(number)
        return issue is not None and bool(s.tasks(issue=number))
    finally:
        s.close()


def test_a_labelled_issue_is_planned_within_two_seconds_of_its_webhook(
        gh_project: GithubProject, serve: Callable[..., Served],
        loop: Callable[[], subprocess.Popen[bytes]]) -> None:
    gh_project.configure(sleep=NAP)
    gh_project.cycle()
    served = serve(gh_project.root, env={**os.environ, SECRET_ENV: SECRET})
    before = cycles(gh_project)
    running = loop()
    wait_for(lambda: cycles(gh_project) > before, what="the loop's first cycle")
    time.sleep(0.5)  # it naps now, for 1800 s, looking at GitHub only after 1800 s

    n = gh_project.file_issue("Add greeting", "- [ ] greet\n  ```sh\n  echo hi > hi.txt\n  ```\n")
    time.sleep(1.0)
    assert not planned(gh_project, n)  # polling would not see it for half an hour

    payload = about(example("issues", "labeled"), f"{gh_project.gh.world.owner}/"
                    f"{gh_project.gh.world.name}", number=n)
    payload["label"]["name"] = "shiftctl"
    started = time.monotonic()
    reply = deliver(served, "issues", payload)
    assert reply.status == 200, reply.text
    wait_for(lambda: planned(gh_project, n), timeout=30, what="the issue to be planned")
    latency = time.monotonic() - started
    print(f"planned {latency:.3f} s after the webhook")
    assert latency < TARGET_S, f"planned {latency:.2f} s after the webhook"

    wait_for(lambda: "webhook" in wakes(gh_project), what="the cycle to end")
    s = gh_project.store()
    try:
        received = [e for e in s.iter_events() if e["kind"] == "webhook.received"]
        assert [e["issue"] for e in received] == [n]
    finally:
        s.close()
    assert running.poll() is None
