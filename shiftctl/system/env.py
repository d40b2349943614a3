"""Environments built from an allowlist, never copied whole.

The admin's environment may hold the tracker token; nothing below it (worker, agent,
checks) ever sees a variable that was not named here or in the profile.
"""
from __future__ import annotations

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
