"""Credentials as the agent will see them, and which profiles count as configured. Pure."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin import credentials
from shiftctl.admin.config import parse
from shiftctl.admin.profiles import configured_profiles

CFG = parse({"agents": {"default": "claude", "profiles": {
    "claude": {"kind": "claude", "pass_env": ["ANTHROPIC_API_KEY"], "fallback": "mine"},
    "mine": {"kind": "codex", "pass_env": ["OPENAI_API_KEY"]},
    "extra": {"kind": "shell"}}}}, Path("/r"))
CLAUDE, CODEX = CFG.agents.profiles["claude"], CFG.agents.profiles["mine"]
HOME = {"HOME": "/home/me"}


def nothing(_: Path) -> bool:
    return False


def test_a_key_counts_only_when_the_agent_receives_it() -> None:
    ok = credentials.check(CLAUDE, {**HOME, "ANTHROPIC_API_KEY": "k"}, boxed=True,
                           exists=nothing)
    assert ok is not None and ok.ok and "ANTHROPIC_API_KEY" in ok.detail
    unpassed = credentials.check(CLAUDE, {**HOME, "ANTHROPIC_AUTH_TOKEN": "t"}, boxed=False,
                                 exists=nothing)
    assert unpassed is not None and not unpassed.ok
    assert "ANTHROPIC_AUTH_TOKEN is set here but not in agents.profiles.claude.pass_env" \
        in unpassed.detail
    none = credentials.check(CLAUDE, HOME, boxed=False, exists=nothing)
    assert none is not None and not none.ok and "no credentials" in none.detail


def test_a_login_counts_unless_the_sandbox_hides_it() -> None:
    def logged_in(path: Path) -> bool:
        return path == Path("/home/me/.claude/.credentials.json")
    bare = credentials.check(CLAUDE, HOME, boxed=False, exists=logged_in)
    assert bare is not None and bare.ok and "logged in" in bare.detail
    boxed = credentials.check(CLAUDE, HOME, boxed=True, exists=logged_in)
    assert boxed is not None and not boxed.ok and "private HOME" in boxed.detail


def test_codex_takes_its_key_or_the_login_in_a_named_codex_home() -> None:
    assert credentials.check(CODEX, {**HOME, "OPENAI_API_KEY": "k"}, boxed=True,
                             exists=nothing).ok
    named = parse({"agents": {"default": "cx", "profiles": {"cx": {
        "kind": "codex", "env": {"CODEX_HOME": "/srv/codex"}}}}}, Path("/r")).agents.profiles["cx"]
    found = credentials.check(named, HOME, boxed=True,
                              exists=lambda p: p == Path("/srv/codex/auth.json"))
    assert found is not None and found.ok
    assert credentials.check(CFG.agents.profiles["extra"], HOME, boxed=False) is None


def test_only_configured_profiles_count_never_an_unused_built_in() -> None:
    assert configured_profiles(CFG) == ["claude", "extra", "mine"]  # default, fallback, own
    shell_only = parse({"agents": {"default": "shell"}}, Path("/r"))
    assert configured_profiles(shell_only) == ["shell"]
    assert configured_profiles(shell_only, ["codex"]) == ["codex", "shell"]  # a task names it
