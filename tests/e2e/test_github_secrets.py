"""The token reaches GitHub's API and git and nothing else: no file, log, argv or agent."""
from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from github_fake.git_http import GitHttp
from support.agents import agent_argv
from support.github import TOKEN, GithubProject
from support.repos import git


def leaks(path: Path) -> list[str]:
    needles = [TOKEN.encode(), base64.b64encode(f"x-access-token:{TOKEN}".encode())]
    found = []
    for f in [path] if path.is_file() else path.rglob("*"):
        if f.is_file() and not f.is_symlink():
            data = f.read_bytes()
            found += [f"{f}: {n[:6]!r}..." for n in needles if n in data]
    return found


def test_grepping_logs_events_run_dirs_git_config_and_agent_envs_finds_no_token(
        gh_project: GithubProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = gh_project
    # every git command anybody runs leaves its argv here (what /proc/PID/cmdline shows)
    shim = tmp_path / "shim"
    shim.mkdir()
    argv_log = tmp_path / "git-argv.log"
    real_git = os.popen("command -v git").read().strip()
    (shim / "git").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {argv_log}\n"
                              f"exec {real_git} \"$@\"\n")
    (shim / "git").chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    # the remote speaks HTTP and insists on the token, as github.com does
    server = GitHttp(p.gh.fake, p.gh.bare.parent).start()
    git(p.root, "remote", "set-url", "origin", server.url(p.gh.bare.name))
    env_dump = tmp_path / "agent-env.txt"
    p.configure(agents={"default": "dumper", "profiles": {"dumper": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "pass_env": ["PATH"], "env": {"AGENT_DUMP_ENV": str(env_dump),
                                      "AGENT_WRITE": "out.txt:done"}}}})
    try:
        n = p.file_issue("Use the token", "- [ ] write out.txt\n")
        p.run()
        p.cli("status")
        p.cli("events", "--json")
        p.cli("doctor", check=False)
    finally:
        server.stop()
    assert p.issue_state(n) == "done"
    pushes = [c for c in server.calls if "git-receive-pack" in c.path and c.method == "POST"]
    assert pushes and all(c.login == "shiftbot" and c.status == 200 for c in pushes)
    assert p.remote_branch(f"shiftctl/issue-{n}") is not None  # the push really happened
    assert env_dump.exists() and TOKEN not in env_dump.read_text()
    assert argv_log.exists() and "push" in argv_log.read_text()
    found = (leaks(p.root / ".shiftctl") + leaks(p.root / ".git" / "config")
             + leaks(p.root / ".git" / "worktrees") + leaks(p.gh.bare / "config")
             + leaks(env_dump) + leaks(argv_log) + leaks(p.root / "shiftctl.yaml"))
    assert found == []


def test_a_remote_on_another_host_never_gets_the_token(gh_project: GithubProject,
                                                        tmp_path: Path) -> None:
    from shiftctl.admin.tracker.github.push import auth_settings
    api = gh_project.gh.fake.base_url
    assert auth_settings("http://127.0.0.1:9/x.git", api, TOKEN)
    assert auth_settings("https://evil.example/x.git", api, TOKEN) == {}
    assert auth_settings("git@127.0.0.1:x.git", api, TOKEN) == {}
    assert auth_settings("file:///srv/x.git", api, TOKEN) == {}
    assert auth_settings("https://github.com/acme/w.git", "https://api.github.com", TOKEN)
    assert auth_settings("https://ghe.corp/acme/w.git", "https://ghe.corp/api/v3", TOKEN)


def test_push_runs_no_hook_an_agent_could_have_planted(gh_project: GithubProject,
                                                       tmp_path: Path) -> None:
    p = gh_project
    witness = tmp_path / "hook-ran"
    hook = p.root / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nenv > {witness}\n")
    hook.chmod(stat.S_IRWXU)
    git(p.root, "branch", "feature")
    from shiftctl.admin.tracker import open_tracker
    tracker = open_tracker(p.config)
    try:
        tracker.push(p.root, "feature")
    finally:
        tracker.close()
    assert p.remote_branch("feature") is not None and not witness.exists()
