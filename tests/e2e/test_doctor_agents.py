"""``doctor`` gets a first run right: each configured profile (and no other) is checked for
its CLI and its credentials as the agent will see them, and ``--smoke`` runs each once, for
real (Claude Code against the scripted model server), reporting outcome, time and cost."""
from __future__ import annotations

import json
import os
from typing import Any

from model_server import ModelServer
from support.agents import agent_cli
from support.project import Project
from support.repos import git

KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def _claude(cli: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "claude", "argv": [cli], "model": "sonnet", "max_turns": 2,
            "pass_env": ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"], **extra}


def _doctor(p: Project, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    out = p.cli("doctor", "--json", *args, env=env, check=False)
    return out.returncode, {f["name"]: f for f in json.loads(out.stdout)}


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in KEYS}, **extra}


def test_doctor_checks_the_credentials_of_configured_profiles_and_no_others(
        project: Project) -> None:
    p = project
    p.configure(agents={"default": "claude", "profiles": {"claude": _claude(agent_cli("claude"))}})
    code, found = _doctor(p, _env())
    assert code == 1
    assert found["agent claude"]["ok"]  # the CLI is there ...
    creds = found["credentials claude"]
    assert not creds["ok"] and creds["required"] and "no credentials" in creds["detail"]
    assert not [name for name in found if "codex" in name or "shell" in name]
    code, found = _doctor(p, _env(ANTHROPIC_API_KEY="sk-ant-test"))
    assert found["credentials claude"]["ok"]
    assert "ANTHROPIC_API_KEY (passed through pass_env)" in found["credentials claude"]["detail"]


def test_doctor_smoke_runs_each_profile_once_and_names_a_missing_login(
        project: Project, model_server: ModelServer) -> None:
    p = project
    cli = agent_cli("claude")
    p.configure(agents={"default": "claude", "profiles": {
        "claude": _claude(cli),
        "nokey": _claude(cli, pass_env=["ANTHROPIC_BASE_URL"])}})  # the key is never passed
    env = _env(ANTHROPIC_API_KEY="sk-ant-test-not-a-real-key", ANTHROPIC_BASE_URL=model_server.url)
    code, found = _doctor(p, env, "--smoke")
    assert code == 1
    ok = found["smoke claude"]
    assert ok["ok"], ok["detail"]
    assert ok["detail"].startswith("succeeded in ") and "$0." in ok["detail"]
    assert "20 tokens in" in ok["detail"]  # what the model server billed for its one answer
    assert len(model_server.served) == 1  # one trivial request
    creds = found["credentials nokey"]
    assert not creds["ok"] and "not in agents.profiles.nokey.pass_env" in creds["detail"]
    bad = found["smoke nokey"]
    assert not bad["ok"] and "claude: not logged in: Not logged in" in bad["detail"]
    assert "success" not in bad["detail"]
    assert git(p.root, "worktree", "list").count("\n") == 0  # no checkout left behind
    assert [d.name.startswith("smoke-nokey") for d in (p.root / ".shiftctl" / "smoke").iterdir()] \
        == [True]  # the failed one is kept to read, the good one removed
