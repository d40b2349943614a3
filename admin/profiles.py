"""Agent profiles as the admin sees them: which binary, and the worker's ``AgentSpec``."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from shiftctl.admin.config import DEFAULT_PROFILES, Config, Profile
from shiftctl.admin.paths import Paths
from shiftctl.system import sandbox
from shiftctl.worker.spec import AgentSpec

EXECUTABLES = {"claude": "claude", "codex": "codex", "shell": "bash", "aider": "aider",
               "gemini": "gemini", "opencode": "opencode"}


def executable(profile: Profile) -> str:
    """The program a profile starts (``argv[0]`` when the profile gives one)."""
    if profile.argv:
        return profile.argv[0]
    return EXECUTABLES.get(profile.kind, profile.kind)


def known_problem(profile: Profile, env: Mapping[str, str], euid: int,
                  config: Config | None = None) -> str | None:
    """A setting the agent CLI is known to refuse here (found by running them)."""
    boxed = config is not None and sandbox_in_force(config, profile).kind == "bwrap"
    if profile.kind == "claude" and euid == 0 and not boxed and \
            profile.permission_mode in ("bypassPermissions",):
        return ("Claude Code refuses permission_mode bypassPermissions as root; leave "
                "permission_mode unset (acceptEdits with allowed tools)")
    if profile.kind == "codex":
        named = dict(profile.env).get("CODEX_HOME")
        if named is None and boxed and config is not None:  # in the run's private HOME
            runs = config.runtime / "runs"
            if runs.resolve().is_relative_to("/tmp"):
                return (f"sandboxed, Codex keeps its CODEX_HOME in the run directories ({runs}), "
                        "which are under /tmp, where Codex cannot set up its sandbox; move the "
                        "repository out of /tmp or set the profile's env CODEX_HOME elsewhere")
            return None
        home = named or env.get("CODEX_HOME") or \
            str(Path(env.get("HOME", "~")).expanduser() / ".codex")
        if Path(home).resolve().is_relative_to("/tmp"):
            return (f"CODEX_HOME {home} is under /tmp, where Codex cannot set up its sandbox; "
                    "set the profile's env CODEX_HOME to a directory elsewhere")
    return None


def strictest_sandbox(config: Config, profiles: Iterable[str | None],
                      why_not: str | None) -> str:
    """The sandbox code run on behalf of these profiles' work gets: ``bwrap`` as soon as one
    of them (or the default profile) would have run sandboxed, ``auto`` resolved as for an
    agent (``why_not``: why bwrap cannot run here, None when it can). Pure."""
    names = {name or config.agents.default for name in profiles} | {config.agents.default}
    kinds = {sandbox.decide(config.sandbox_of(config.agents.profiles[n]), why_not).kind
             for n in names if n in config.agents.profiles}
    return "bwrap" if "bwrap" in kinds else "none"


def sandbox_in_force(config: Config, profile: Profile) -> sandbox.InForce:
    """What the profile's agents get here and why: ``auto`` resolved by probing bwrap."""
    return sandbox.in_force(config.sandbox_of(profile))


def sandbox_summary(config: Config) -> dict[str, dict[str, str]]:
    """Per profile: the sandbox in force and why (what the cycle records and status shows)."""
    out = {}
    for name, prof in sorted(config.agents.profiles.items()):
        eff = sandbox_in_force(config, prof)
        out[name] = {"sandbox": eff.kind, "reason": eff.reason, "configured": eff.configured}
    return out


def agent_spec(config: Config, profile: Profile, *, read_only: bool = False) -> AgentSpec:
    w = config.workers
    return AgentSpec(
        profile=profile.name, kind=profile.kind, argv=list(profile.argv), model=profile.model,
        max_turns=profile.max_turns, allowed_tools=list(profile.allowed_tools),
        permission_mode=profile.permission_mode, pass_env=list(profile.pass_env),
        env=dict(profile.env), sandbox=sandbox_in_force(config, profile).kind,
        sandbox_hide=[str(config.runtime), str(Paths(config.root).tracker_dir)],
        sandbox_expose=list(config.sandbox_expose),
        task_timeout=profile.task_timeout or w.task_timeout,
        stall_timeout=profile.stall_timeout or w.stall_timeout, read_only=read_only)


def worker_pass_env(config: Config) -> list[str]:
    """What the worker process may inherit: what its agents need, never the tracker token."""
    names: list[str] = ["PYTHONPATH"]
    for prof in config.agents.profiles.values():
        names += [n for n in prof.pass_env if n not in names]
    token = config.tracker.github.token_env
    return [n for n in names if n != token]


def configured_profiles(config: Config, task_profiles: Iterable[str | None] = ()) -> list[str]:
    """The profiles this configuration can start: the default, the planner's, the judge's,
    those open tasks name, those defined in shiftctl.yaml beyond the built-ins, and their
    fallbacks. A built-in nobody uses is not one of them (``doctor`` leaves it unmentioned)."""
    names = [config.agents.default, config.planner.profile, config.review.judge,
             *task_profiles, *(n for n in config.agents.profiles if n not in DEFAULT_PROFILES)]
    out: list[str] = []
    for name in names:
        while name and name in config.agents.profiles and name not in out:
            out.append(name)
            name = config.agents.profiles[name].fallback
    return sorted(out)
