"""Environments built from an allowlist, never copied whole.

The admin's environment may hold the tracker token; nothing below it (worker, agent,
checks) ever sees a variable that was not named here or in the profile.
"""
from __future__ import annotations

import os
import pwd
from collections.abc import Iterable, Mapping

BASE_ALLOWLIST = ("PATH", "HOME", "LANG", "TERM", "TMPDIR")


def build_env(source: Mapping[str, str], pass_env: Iterable[str] = (),
              values: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    env: dict[str, str] = {}
    for name in (*BASE_ALLOWLIST, *pass_env):
        if name in source:
            env[name] = source[name]
    env.update(dict(values))
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


def local_identity(environ: Mapping[str, str] | None = None) -> str:
    """Who the person at this terminal is, as the local tracker names them: ``$USER``,
    ``$LOGNAME``, the account's name, else ``local``. ``init`` writes it into
    ``tracker.allowed_authors`` and ``issue new`` files as it: one answer for both."""
    environ = os.environ if environ is None else environ
    for name in ("USER", "LOGNAME"):
        if environ.get(name):
            return environ[name]
    try:
        return pwd.getpwuid(os.getuid()).pw_name or "local"
    except KeyError:
        return "local"
