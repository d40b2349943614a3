"""Can a profile's agent authenticate? Decided before a run spends an attempt on it.

Claude Code takes ``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN`` or
``CLAUDE_CODE_OAUTH_TOKEN``, or a login (``claude /login``: ``.credentials.json`` in
``CLAUDE_CONFIG_DIR``, default ``~/.claude``); Codex takes ``OPENAI_API_KEY`` or
``CODEX_API_KEY``, or a login (``codex login``: ``auth.json`` in ``CODEX_HOME``, default
``~/.codex``). A key reaches the agent only through the profile's ``env`` or ``pass_env``
(docs/design.md §12), and a sandboxed agent runs with a private HOME, where a login in the
user's HOME is not seen. Pure: the environment and the files found come in as arguments.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shiftctl.admin.config import Profile

KEYS = {"claude": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"),
        "codex": ("OPENAI_API_KEY", "CODEX_API_KEY")}
LOGIN_HOME = {"claude": ("CLAUDE_CONFIG_DIR", ".claude", ".credentials.json", "claude /login"),
              "codex": ("CODEX_HOME", ".codex", "auth.json", "codex login")}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


def check(profile: Profile, env: Mapping[str, str], *, boxed: bool,
          exists: Callable[[Path], bool] = Path.is_file) -> Verdict | None:
    """The profile's credentials as its agent will see them (None: a kind not checked)."""
    keys = KEYS.get(profile.kind)
    if keys is None:
        return None
    own = [k for k in keys if dict(profile.env).get(k)]
    if own:
        return Verdict(True, f"{own[0]} set in the profile's env")
    passed = [k for k in keys if env.get(k) and k in profile.pass_env]
    if passed:
        return Verdict(True, f"{passed[0]} (passed through pass_env)")
    unpassed = [k for k in keys if env.get(k)]
    login = _login(profile, env, boxed=boxed, exists=exists)
    if login is not None and login.ok:
        return login
    name = profile.name
    if unpassed:
        return Verdict(False, f"{unpassed[0]} is set here but not in "
                              f"agents.profiles.{name}.pass_env: the agent will not see it; "
                              f"add {unpassed[0]} to pass_env")
    if login is not None:
        return login
    command = LOGIN_HOME[profile.kind][3]
    return Verdict(False, f"no credentials: export {keys[0]} and list it in "
                          f"agents.profiles.{name}.pass_env (or log in with `{command}`)")


def _login(profile: Profile, env: Mapping[str, str], *, boxed: bool,
           exists: Callable[[Path], bool]) -> Verdict | None:
    """A login file the agent will find, a failure when the sandbox hides one, else None."""
    var, default_dir, filename, _ = LOGIN_HOME[profile.kind]
    named = dict(profile.env).get(var)
    shared = profile.kind == "codex"  # a sandboxed Codex gets its named CODEX_HOME writable
    if named and (shared or not boxed):
        path = Path(named).expanduser() / filename
        return Verdict(True, f"logged in ({path})") if exists(path) else None
    base = named or (env.get(var) if var in profile.pass_env else None)
    path = Path(base or Path(env.get("HOME", "~")).expanduser() / default_dir) / filename
    if not exists(path):
        return None
    if boxed:
        fix = (f"set {var} in agents.profiles.{profile.name}.env to its directory, or "
               if shared else "")
        return Verdict(False, f"logged in ({path}), but the sandbox gives the agent a private "
                              f"HOME where that login is not seen: {fix}pass a key "
                              f"({KEYS[profile.kind][0]} in pass_env)")
    return Verdict(True, f"logged in ({path})")
