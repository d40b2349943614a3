"""GitHub webhooks at ``/hooks/github`` of a real ``shiftctl serve`` process: real payloads
recorded from GitHub, signed in the test. Only an authentic delivery about this repository
wakes the loop; anything unsigned, wrongly signed, altered or replayed is refused and
recorded (as an event the next cycle imports: the server never writes the state db)."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.github import GithubProject
from support.repos import wait_for
from support.serve import Served
from support.webhooks import SECRET, SECRET_ENV, about, deliver, example, signature

FOLLOWED = [("issues", "labeled"), ("issue_comment", "created"), ("pull_request", "closed"),
            ("label", "created")]


@pytest.fixture
def hooked(gh_project: GithubProject, serve: Callable[..., Served]) -> Served:
    """``shiftctl serve`` for the GitHub project, with the webhook secret in its environment."""
    gh_project.cycle()  # .shiftctl/ and the state db exist, as on any running setup
    return serve(gh_project.root, env={**os.environ, SECRET_ENV: SECRET})


def repo_of(p: GithubProject) -> str:
    return f"{p.gh.world.owner}/{p.gh.world.name}"


def wake_file(p: GithubProject) -> Path:
    return p.root / ".shiftctl" / "wake"


def events(p: GithubProject, kind: str) -> list[dict[str, Any]]:
    """The events of ``kind`` once a cycle has imported what the server recorded."""
    p.cycle()
    s = p.store()
    try:
        return [e for e in s.iter_events() if e["kind"] == kind]
    finally:
        s.close()


@pytest.mark.parametrize(("event", "action"), FOLLOWED)
def test_a_signed_delivery_about_this_repository_wakes_the_loop(
        gh_project: GithubProject, hooked: Served, event: str, action: str) -> None:
    n = gh_project.file_issue("Something", "- [ ] x\n")
    payload = about(example(event, action), repo_of(gh_project), number=n)
    wake_file(gh_project).unlink(missing_ok=True)
    reply = deliver(hooked, event, payload, delivery=f"delivery-{event}")
    assert reply.status == 200, reply.text
    assert json.loads(reply.body)["woke"] is True
    assert wake_file(gh_project).read_text().split() == ["webhook"]
    received = events(gh_project, "webhook.received")
    assert [(e["data"]["delivery"], e["data"]["event"], e["data"]["action"]) for e in received] \
        == [(f"delivery-{event}", event, action)]
    if event != "label":
        assert received[0]["issue"] == n


@pytest.mark.parametrize(("why", "tamper"), [
    ("wrong signature", lambda body: {"header": signature(body, "not the secret")}),
    ("unsigned", lambda body: {"sign": None}),
    ("not signed with sha256", lambda body: {"header": signature(body, SECRET, "sha1")}),
    ("not signed with sha256", lambda body: {"header": signature(body, SECRET, "sha512")}),
    ("wrong signature", lambda body: {"header": "sha256=" + "0" * 64}),
])
def test_a_forged_or_altered_delivery_gets_401_wakes_nothing_and_is_recorded(
        gh_project: GithubProject, hooked: Served, why: str,
        tamper: Callable[[bytes], dict[str, Any]]) -> None:
    body = json.dumps(about(example("issues", "opened"), repo_of(gh_project))).encode()
    wake_file(gh_project).unlink(missing_ok=True)
    reply = deliver(hooked, "issues", body, **tamper(body))
    assert reply.status == 401, reply.text
    assert why in json.loads(reply.body)["error"]
    assert not wake_file(gh_project).exists()
    rejected = events(gh_project, "webhook.rejected")
    assert [(why in e["data"]["reason"], e["data"]["count"]) for e in rejected] == [(True, 1)]
    assert rejected[0]["data"]["event"] == "issues"


def test_a_body_changed_by_one_byte_after_signing_is_refused(
        gh_project: GithubProject, hooked: Served) -> None:
    body = json.dumps(about(example("issues", "labeled"), repo_of(gh_project))).encode()
    header = signature(body)
    changed = body.replace(b'"labeled"', b'"labelea"')
    assert len(changed) == len(body) and changed != body
    assert deliver(hooked, "issues", changed, header=header).status == 401
    assert deliver(hooked, "issues", body, header=header).status == 200  # the original is fine


def test_a_replayed_delivery_wakes_nothing_twice(gh_project: GithubProject,
                                                 hooked: Served) -> None:
    payload = about(example("issue_comment", "created"), repo_of(gh_project))
    assert deliver(hooked, "issue_comment", payload, delivery="once").status == 200
    gh_project.cycle()  # takes the wake
    again = deliver(hooked, "issue_comment", payload, delivery="once")
    assert again.status == 409 and "replayed" in again.text
    assert not wake_file(gh_project).exists()


@pytest.mark.parametrize(("event", "change", "why"), [
    ("ping", None, "ping"),
    ("push", None, "not one shiftctl follows"),
    ("issues", lambda p: p["repository"].update(full_name="someone/else"), "another repository"),
    ("issues", lambda p: p["sender"].update(login="shiftbot"), "shiftctl's own change"),
])
def test_an_authentic_delivery_that_is_no_news_wakes_nothing(
        gh_project: GithubProject, hooked: Served, event: str,
        change: Callable[[dict[str, Any]], None] | None, why: str) -> None:
    gh_project.file_issue("Planned, so shiftctl knows who it is on GitHub", "- [ ] x\n")
    gh_project.cycle()
    wake_file(gh_project).unlink(missing_ok=True)
    payload = about(example(event) if event != "issues" else example("issues", "labeled"),
                    repo_of(gh_project))
    if change:
        change(payload)
    reply = deliver(hooked, event, payload)
    assert reply.status == 202, reply.text
    assert why in json.loads(reply.body)["why"]
    assert not wake_file(gh_project).exists()


def test_a_flood_of_unsigned_requests_becomes_a_count_not_a_flood_of_events(
        gh_project: GithubProject, hooked: Served) -> None:
    for _ in range(40):
        assert deliver(hooked, "issues", b"{}", sign=None).status == 401
    requests = gh_project.root / ".shiftctl" / "requests"

    def counted() -> int:
        return sum(json.loads(p.read_text())["data"]["count"] for p in requests.glob("*.json"))

    wait_for(lambda: counted() == 40, timeout=15, what="the refusals to be counted")
    rejected = events(gh_project, "webhook.rejected")
    assert sum(e["data"]["count"] for e in rejected) == 40
    assert len(rejected) <= 3  # one at once, the rest summed up once the window passed


def test_a_body_too_large_is_refused_before_it_is_read(gh_project: GithubProject,
                                                       hooked: Served) -> None:
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    started = time.monotonic()
    reply = deliver(hooked, "issues", big)
    assert reply.status == 413
    assert time.monotonic() - started < 10


def test_without_a_configured_secret_every_delivery_is_refused(
        gh_project: GithubProject, serve: Callable[..., Served]) -> None:
    gh_project.cycle()
    served = serve(gh_project.root, env={k: v for k, v in os.environ.items() if k != SECRET_ENV})
    assert "webhooks at /hooks/github: off" in served.output()
    payload = about(example("issues", "labeled"), repo_of(gh_project))
    reply = deliver(served, "issues", payload)
    assert reply.status == 401 and "no webhook secret" in reply.text
    assert not wake_file(gh_project).exists()
