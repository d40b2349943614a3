"""Golden tests: the GitHub tracker's requests against real recorded GitHub responses.

``@octokit/fixtures-server`` replays api.github.com as recorded. The same steps then run
against the fake GitHub, and every field GitHub really sent must be in the fake's answer
with the same JSON type: an assumption the fake shares with our code shows up here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.config import parse
from shiftctl.admin.tracker import MemoryKV
from shiftctl.admin.tracker.github.tracker import GithubTracker, _issue

from github_fake import FakeGitHub, new_world
from github_fake import bare as bare_repo
from github_fake.recorded import FIXTURE_TOKEN, Recorded
from support.repos import make_repo

OWNER = "octokit-fixture-org"
USER = "octokit-fixture-user-a"
TOKEN_ENV = "SHIFTCTL_GOLDEN_TOKEN"


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    server = Recorded().start()
    yield server
    server.stop()


def tracker_for(api_url: str, repo: str, root: Path) -> tuple[GithubTracker, list[Any]]:
    """A tracker whose every exchange is kept: (verb, url, status, body)."""
    config = parse({"tracker": {"kind": "github", "github": {
        "repo": repo, "api_url": api_url, "token_env": TOKEN_ENV, "bot": USER,
        "write_interval": 0}}}, root)
    t = GithubTracker(config, MemoryKV())
    seen: list[Any] = []
    send = t.client._send

    def keep(verb: str, url: str, *args: Any, **kw: Any) -> Any:
        status, headers, body = send(verb, url, *args, **kw)
        seen.append((verb, url, status, body))
        return status, headers, body
    t.client._send = keep  # type: ignore[method-assign]
    return t, seen


def on_fake(tmp_path: Path, name: str, steps: Callable[[GithubTracker], Any],
            prepare: Callable[[Any], None] = lambda world: None) -> tuple[Any, list[Any]]:
    root = make_repo(tmp_path / f"fake-{name}")
    world = new_world(bare_repo.create(tmp_path / f"{name}.git", root), OWNER, name)
    world.add_user(USER, "admin")
    prepare(world)
    fake = FakeGitHub(world).start()
    fake.add_token(FIXTURE_TOKEN, USER)
    try:
        t, seen = tracker_for(fake.base_url, f"{OWNER}/{name}", root)
        result = steps(t)
        t.close()
    finally:
        fake.stop()
    assert not fake.problems, fake.problems[:3]
    return result, seen


def missing_fields(real: Any, fake: Any, where: str = "$") -> list[str]:
    """Fields (and JSON types) GitHub sent that the fake does not send alike."""
    if isinstance(real, dict):
        if not isinstance(fake, dict):
            return [f"{where}: object expected"]
        out = []
        for key, value in real.items():
            if key not in fake:
                out.append(f"{where}.{key}: missing")
            else:
                out += missing_fields(value, fake[key], f"{where}.{key}")
        return out
    if isinstance(real, list):
        if not isinstance(fake, list):
            return [f"{where}: array expected"]
        return missing_fields(real[0], fake[0], f"{where}[0]") if real and fake else []
    if real is None or fake is None:
        return []
    kinds = (bool, (int, float), str)
    for kind in kinds:
        if isinstance(real, kind):
            return [] if isinstance(fake, kind) else [f"{where}: {type(fake).__name__} "
                                                      f"instead of {type(real).__name__}"]
    return []


def compare(real: list[Any], fake: list[Any]) -> list[str]:
    import json
    assert [(v, s) for v, _u, s, _b in real] == [(v, s) for v, _u, s, _b in fake]
    out = []
    for (verb, url, _s, rb), (_v, _u, _s2, fb) in zip(real, fake, strict=True):
        if rb:
            out += [f"{verb} {url.split('?')[0].rsplit('/', 2)[-2:]}: {m}"
                    for m in missing_fields(json.loads(rb), json.loads(fb))]
    return out


def test_issue_creation_and_labels_match_real_github(recorded: Recorded, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, FIXTURE_TOKEN)
    name = "add-labels-to-issue"

    def steps(t: GithubTracker) -> tuple[Any, list[str]]:
        created = t.repo.create_issue(title="Issue without a label")
        return _issue(created.raw_data), t._add_labels(created.number, ["Foo", "bAr", "baZ"])

    t, real = tracker_for(recorded.load(name), f"{OWNER}/{name}", tmp_path)
    (issue, labels) = steps(t)
    t.close()
    assert (issue.number, issue.title, issue.author, issue.state, issue.labels) == \
        (1, "Issue without a label", USER, "open", [])
    assert labels == ["Foo", "bAr", "baZ"]  # GitHub keeps the case it was given
    assert t.requests == 2

    (fake_issue, fake_labels), fake = on_fake(tmp_path, name, steps)
    assert fake_labels == labels and fake_issue.title == issue.title
    assert compare(real, fake) == []


def test_label_crud_matches_real_github(recorded: Recorded, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, FIXTURE_TOKEN)
    name = "labels"

    def steps(t: GithubTracker) -> list[str]:
        names = [x.name for x in t.repo.get_labels()]
        t.repo.create_label("test-label", "663399")
        label = t.repo.get_label("test-label")
        assert label.color == "663399"  # a lazy object: this GET is the recorded one
        label.edit("test-label-updated", "BADA55")
        label.delete()
        return names

    t, real = tracker_for(recorded.load(name), f"{OWNER}/{name}", tmp_path)
    names = steps(t)
    t.close()
    assert "bug" in names and t.requests == 5

    def defaults(world: Any) -> None:
        for label in names:
            world.label(label)

    fake_names, fake = on_fake(tmp_path, name, steps, defaults)
    assert fake_names == names
    assert compare(real, fake) == []


def test_pagination_follows_real_link_headers(recorded: Recorded, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, FIXTURE_TOKEN)
    name = "paginate-issues"
    t, real = tracker_for(recorded.load(name), f"{OWNER}/{name}", tmp_path)
    pages = t.client.get_pages(f"{t.repo_url}/issues", {"per_page": 3})
    t.close()
    assert len(real) == 5 and [s for _v, _u, s, _b in real] == [200] * 5
    numbers = [i["number"] for i in pages.items]
    assert len(numbers) == 13 and len(set(numbers)) == 13
    assert t.rate_status()["limit"] == 5000  # type: ignore[index]
    reset = t.rate_status()["reset_at"]  # type: ignore[index]
    assert reset < 1e11  # recorded in milliseconds; read as seconds
