"""Setting up GitHub: ``init --tracker github`` works, ``doctor`` names what a token lacks."""
from __future__ import annotations

from pathlib import Path

import pytest

from github_fake.git_http import GitHttp
from support.github import TOKEN_ENV, GithubProject
from support.repos import git


def doctor_tracker_line(p: GithubProject) -> str:
    out = p.cli("doctor", check=False).stdout
    return next(line for line in out.splitlines() if " tracker " in f" {line} ")


def test_init_with_the_github_tracker_writes_a_working_config(
        gh_project: GithubProject, monkeypatch: pytest.MonkeyPatch) -> None:
    p = gh_project
    (p.root / "shiftctl.yaml").unlink()
    bare_url = git(p.root, "remote", "get-url", "origin")
    git(p.root, "remote", "set-url", "origin", "https://github.com/acme/widgets.git")
    p.cli("init", "--tracker", "github")
    text = (p.root / "shiftctl.yaml").read_text()
    assert "repo: acme/widgets" in text and "token_env: GITHUB_TOKEN" in text
    # the same file, pointed at the fake instead of api.github.com
    (p.root / "shiftctl.yaml").write_text(
        text.replace("https://api.github.com", p.gh.fake.base_url))
    git(p.root, "remote", "set-url", "origin", bare_url)
    monkeypatch.setenv("GITHUB_TOKEN", next(iter(p.gh.fake.tokens)))
    line = doctor_tracker_line(p)
    assert line.startswith("ok") and "access ok" in line, line
    n = p.file_issue("Works", "- [ ] go\n  agent: shell\n  ```sh\n  echo go > go.txt\n  ```\n")
    assert p.cycle().rung == "intake"
    assert p.issue_state(n) == "active"
    assert any(f"shiftctl:plan:{n}:1" in c["body"] for c in p.issue(n)["comments"])


def test_doctor_names_each_permission_a_fine_grained_token_lacks(
        gh_project: GithubProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    p = gh_project
    p.gh.fake.add_token("github_pat_readonly", "shiftbot", scopes=None,
                        permissions={"issues": "read", "pull_requests": "read",
                                     "contents": "read", "metadata": "read"})
    server = GitHttp(p.gh.fake, p.gh.bare.parent).start()
    git(p.root, "remote", "set-url", "origin", server.url(p.gh.bare.name))
    monkeypatch.setenv(TOKEN_ENV, "github_pat_readonly")
    try:
        line = doctor_tracker_line(p)
    finally:
        server.stop()
    assert line.startswith("FAIL"), line
    for missing in ("Issues: write", "Pull requests: write", "Contents: write"):
        assert missing in line, line
    assert "Issues: read" not in line and "Pull requests: read" not in line
    assert "issues=write" in line  # what GitHub itself says it accepts


def test_doctor_says_when_a_classic_token_cannot_see_the_repository(
        gh_project: GithubProject, monkeypatch: pytest.MonkeyPatch) -> None:
    p = gh_project
    p.gh.fake.add_token("ghp_noscope", "shiftbot", scopes=("read:user",))
    monkeypatch.setenv(TOKEN_ENV, "ghp_noscope")
    line = doctor_tracker_line(p)
    assert line.startswith("FAIL") and "cannot see acme/widgets" in line, line


def test_doctor_says_when_the_account_has_no_write_access(
        gh_project: GithubProject, monkeypatch: pytest.MonkeyPatch) -> None:
    p = gh_project
    p.gh.fake.add_token("ghp_mallory", "mallory")
    monkeypatch.setenv(TOKEN_ENV, "ghp_mallory")
    line = doctor_tracker_line(p)
    assert line.startswith("FAIL") and "write access to acme/widgets" in line, line


def test_doctor_without_the_token_variable_says_which_one(
        gh_project: GithubProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    line = doctor_tracker_line(gh_project)
    assert line.startswith("FAIL") and f"${TOKEN_ENV} is not set" in line, line
