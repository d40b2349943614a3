"""Agent profiles as the admin sees them: which binary, and the worker's ``AgentSpec``."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from shiftctl.admin.config import Config, Profile
from shiftctl.worker.spec import AgentSpec

EXECUTABLES = {"claude": "claude", "codex": "codex", "shell": "bash", "aider": "aider",
               "gemini": "gemini", "opencode": "opencode"}


def executable(profile: Profile) -> str:
    """The program a profile starts (``argv[0]`` when the profile gives one)."""
    if profile.argv:
        return profile.argv[0]
    return EXECUTABLES.get(profile.kind, profile.kind)


def known_problem(profile: Profile, env: Mapping[str, str], euid: int) -> str | None:
    """A setting the agent CLI is known to refuse here (found by running them)."""
    if profile.kind == "claude" and euid == 0 and \
            profile.permission_mode in ("bypassPermissions",):
        return ("Claude Code refuses permission_mode bypassPermissions as root; leave "
                "permission_mode unset (acceptEdits with allowed tools)")
    if profile.kind == "codex":
        home = dict(profile.env).get("CODEX_HOME") or env.get("CODEX_HOME") or \
            str(Path(env.get("HOME", "~")).expanduser() / ".codex")
        if Path(home).resolve().is_relative_to("/tmp"):
            return (f"CODEX_HOME {home} is under /tmp, where Codex cannot set up its sandbox; "
                    "set the profile's env CODEX_HOME to a directory elsewhere")
    return None


def sandbox_of(config: Config, profile: Profile) -> str:
    return profile.sandbox or config.sandbox


def strictest_sandbox(config: Config, profiles: Iterable[str | None]) -> str:
    """The sandbox code run on behalf of these profiles' work gets: ``bwrap`` as soon as one
    of them (or the default profile) would have run sandboxed."""
    names = {name or config.agents.default for name in profiles} | {config.agents.default}
    kinds = {sandbox_of(config, config.agents.profiles[n]) for n in names
             if n in config.agents.profiles}
    return "bwrap" if "bwrap" in kinds else "none"


def agent_spec(config: Config, profile: Profile, *, read_only: bool = False) -> AgentSpec:
    w = config.workers
    return AgentSpec(
        profile=profile.name, kind=profile.kind, argv=list(profile.argv), model=profile.model,
        max_turns=profile.max_turns, allowed_tools=list(profile.allowed_tools),
        permission_mode=profile.permission_mode, pass_env=list(profile.pass_env),
        env=dict(profile.env), sandbox=sandbox_of(config, profile),
        task_timeout=profile.task_timeout or w.task_timeout,
        stall_timeout=profile.stall_timeout or w.stall_timeout, read_only=read_only)


def worker_pass_env(config: Config) -> list[str]:
    """What the worker process may inherit: what its agents need, never the tracker token."""
    names: list[str] = ["PYTHONPATH"]
    for prof in config.agents.profiles.values():
        names += [n for n in prof.pass_env if n not in names]
    token = config.tracker.github.token_env
    return [n for n in names if n != token]
