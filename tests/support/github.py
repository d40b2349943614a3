"""Fixtures for the GitHub tracker: a fake GitHub on 127.0.0.1 whose git remote is a bare
repository over file://, and a project configured to use it through the real PyGithub."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.tracker import markers

from github_fake import FakeGitHub, World, new_world
from github_fake import bare as bare_repo
from support.assets import require_file
from support.project import BASE_CONFIG, Project, end_workers, merge
from support.repos import git, make_repo

TOKEN = "ghs_SHIFTCTLtestTOKEN0123456789abcdefXYZ"
TOKEN_ENV = "SHIFTCTL_TEST_GH_TOKEN"
BOT = "shiftbot"


@dataclass
class GithubWorld:
    world: World
    fake: FakeGitHub
    bare: Path

    def tracker_settings(self, **extra: Any) -> dict[str, Any]:
        github = {"repo": f"{self.world.owner}/{self.world.name}", "token_env": TOKEN_ENV,
                  "api_url": self.fake.base_url, "write_interval": 0, "max_retry_wait": 5}
        github.update(extra)
        return {"kind": "github", "intake_label": "shiftctl", "allowed_authors": [],
                "github": github}

    def requests_per(self, fn: Any) -> tuple[Any, int]:
        mark = self.fake.mark()
        result = fn()
        return result, len(self.fake.since(mark))


def github_tracker(gh: GithubWorld, kv: Any = None, **settings: Any) -> Any:
    """A GithubTracker for the fake's repository, configured like a user would."""
    import yaml

    from shiftctl.admin.config import load
    from shiftctl.admin.tracker import MemoryKV
    from shiftctl.admin.tracker.github.tracker import GithubTracker

    root = gh.bare.parent / "repo"
    (root / "shiftctl.yaml").write_text(yaml.safe_dump(merge(BASE_CONFIG, {
        "tracker": gh.tracker_settings(**settings)})))
    return GithubTracker(load(root), kv if kv is not None else MemoryKV())


def start_github(root: Path, work: Path, *, prefix: str = "",
                 validate: bool = True) -> GithubWorld:
    """A fake GitHub for the repository at ``root``; ``origin`` becomes its bare remote.
    ``validate=False`` skips checking each exchange against the OpenAPI description (the
    benchmarks: they measure shiftctl, not the validator)."""
    if validate:  # without GitHub's description the fake cannot check a single request
        from github_fake.spec import SPEC_PATH, openapi
        require_file("github", SPEC_PATH)
        # load (and on a fresh machine, validate: ~20 s, longer under load) the description
        # now, in the fixture, not in the fake's first answer, where a client's 30 s read
        # timeout would fail the test that happens to run first
        openapi()
    remote = bare_repo.create(work / "remote.git", root)
    git(root, "remote", "add", "origin", remote.as_uri())
    world = new_world(remote)
    world.add_user("alice", "write")      # a maintainer: may file intent and steer
    world.add_user("bob", "admin")
    world.add_user("mallory", "read")     # may file issues and comment, nothing more
    world.add_user("tom", "triage")       # may label, but has no write access
    world.add_user(BOT, "write")
    fake = FakeGitHub(world, prefix=prefix, validate=validate).start()
    fake.add_token(TOKEN, BOT)
    return GithubWorld(world, fake, remote)


class GithubProject(Project):
    """The same helpers as ``Project``, but people act on the fake GitHub."""

    gh: GithubWorld
    bot = BOT

    def configure(self, **extra: Any) -> GithubProject:
        tracker = merge(self.gh.tracker_settings(), extra.pop("tracker", {}))
        super().configure(tracker=tracker, **extra)
        return self

    def tracker(self) -> Any:
        raise AssertionError("people act on the fake GitHub: use project.gh.world")

    def file_issue(self, title: str, body: str = "", labels: tuple[str, ...] = ("shiftctl",),
                   author: str = "alice") -> int:
        import textwrap
        return self.gh.world.file_issue(title, textwrap.dedent(body), list(labels), author)

    def comment(self, number: int, text: str, author: str = "alice") -> None:
        self.gh.world.comment(number, text, author)

    def close_issue(self, number: int, author: str = "alice") -> None:
        self.gh.world.set_state(number, "closed", author)

    def remove_label(self, number: int, label: str, author: str = "alice") -> None:
        self.gh.world.remove_label(number, label, author)

    def issue(self, number: int) -> dict[str, Any]:
        return self.gh.world.issue_view(number)

    def prs(self) -> list[dict[str, Any]]:
        out = []
        for item in self.gh.world.pulls():
            assert item.pull is not None
            found = markers.find(item.body or "")
            state = "merged" if item.pull.merged_at else item.state
            out.append({"number": item.number, "title": item.title, "head": item.pull.head,
                        "base": item.pull.base, "state": state, "draft": item.pull.draft,
                        "issue": found[1] if found and found[0] == "pr" else None,
                        "body": item.body or ""})
        return out

    def remote_branch(self, branch: str) -> str | None:
        return bare_repo.rev(self.gh.bare, branch)


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GithubWorld]:
    """A fake GitHub for a fresh repository (no project): for the tracker's own tests."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    root = make_repo(tmp_path / "repo")
    gh = start_github(root, tmp_path)
    yield gh
    gh.fake.stop()
    assert not gh.fake.problems, "\n\n".join(gh.fake.problems[:5])


def github_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                   validate: bool = True) -> Iterator[GithubProject]:
    """A project on a fake GitHub; ``validate=False`` for timings, where checking each
    exchange against the OpenAPI description would be measured too."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    p = GithubProject(make_repo(tmp_path / "repo"))
    p.gh = start_github(p.root, tmp_path, validate=validate)
    p.configure()
    yield p
    end_workers(p)
    p.gh.fake.stop()
    assert not p.gh.fake.problems, "\n\n".join(p.gh.fake.problems[:5])


@pytest.fixture
def gh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GithubProject]:
    yield from github_project(tmp_path, monkeypatch)


@pytest.fixture(params=["local", "github"])
def any_project(request: pytest.FixtureRequest) -> Project:
    """The same scenario on the embedded tracker and on (fake) GitHub."""
    name = "project" if request.param == "local" else "gh_project"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
