"""Pushing a branch to GitHub with git, the token given to git and to nobody else.

The token travels as an ``http.<url>.extraHeader`` set through git's ``GIT_CONFIG_*``
environment variables of that one ``git push``: never in a remote URL, ``.git/config``, a
command line (visible in /proc), a log line or an agent's environment. The header is
scoped to the remote's own URL and only given when that remote lives on the GitHub host of
``api_url``, so a remote pointing anywhere else never sees it. Hooks are switched off for
the push: a hook an agent planted in the repository must not run with the token around.
"""
from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

from shiftctl.admin.redact import Redactor
from shiftctl.admin.tracker.base import TrackerError
from shiftctl.system import git

NO_HOOKS = {"core.hooksPath": "/dev/null"}


def web_host(api_url: str) -> str:
    """github.com for api.github.com; the Enterprise host for https://HOST/api/v3."""
    host = urlsplit(api_url).hostname or ""
    return "github.com" if host == "api.github.com" else host


def remote_url(root: Path, remote: str) -> str:
    url = git.out(root, "remote", "get-url", remote, check=False)
    if not url:
        raise TrackerError(f"git remote {remote!r} is not set in {root}: add the GitHub "
                           f"repository as {remote!r} (or set tracker.github.remote)")
    return url


def auth_settings(url: str, api_url: str, token: str) -> dict[str, str]:
    """The header setting for ``url``, or nothing when it is not on GitHub over HTTP(S)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname != web_host(api_url):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {f"http.{parts.scheme}://{parts.netloc}/.extraHeader": f"Authorization: Basic {basic}"}


def push(root: Path, remote: str, refspec: str, *, api_url: str, token: str,
         dry_run: bool = False) -> None:
    url = remote_url(root, remote)
    env = git.config_env({**NO_HOOKS, **auth_settings(url, api_url, token)})
    args = ["push", "--porcelain", "--no-verify", *(["--dry-run"] if dry_run else []),
            remote, refspec]
    proc = git.run(root, *args, check=False, env=env, timeout=600)
    if proc.returncode != 0:
        why = Redactor.of([token]).redact((proc.stderr or proc.stdout).strip())[-800:]
        raise TrackerError(f"git push to {remote} ({refspec}) failed: {why}")
