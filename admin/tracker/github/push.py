"""Pushing a branch to GitHub with git, the token given to git and to nobody else.

The token travels as an ``http.<url>.extraHeader`` set through git's ``GIT_CONFIG_*``
environment variables of that one ``git push``: never in a remote URL, ``.git/config``, a
command line (visible in /proc), a log line or an agent's environment. The header is
scoped to the remote's own URL and only given when that remote lives on the GitHub host of
``api_url``, so a remote pointing anywhere else never sees it. The push is a hardened git
command like every other (``shiftctl.system.git``): no hook, helper or driver an agent could
have named runs with the token around; it is only allowed to talk http(s) and ssh.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import urlsplit

from shiftctl.admin.redact import Redactor
from shiftctl.admin.tracker.base import PushRejected, TrackerError
from shiftctl.system import git
from shiftctl.system.gitpolicy import PUSH_PROTOCOLS

# What git says when the remote answered and said no (a refusal, counted: it will not fix
# itself), and when it cannot be reached at all or failed (5xx: an outage, waited out). A
# failure that says neither is taken as a refusal, so that nothing is retried forever.
REFUSAL = re.compile(
    r"\[(?:remote )?rejected\]|permission denied|authentication failed|access denied"
    r"|(?:returned error|http):? 4\d\d|protected branch|does not appear to be a git repository",
    re.IGNORECASE)
OUTAGE = re.compile(
    r"could not resolve host|failed to connect|connection (?:refused|reset|timed out)"
    r"|operation timed out|timed out after|network is unreachable|no route to host"
    r"|couldn't connect to server|empty reply from server|ssl_error|gnutls_handshake"
    r"|the remote end hung up unexpectedly|early eof"
    r"|(?:returned error|http): 5\d\d|rpc failed; (?:http|curl) (?:5\d\d|7|28|52|56)\b",
    re.IGNORECASE)


def refused(message: str) -> bool:
    """Did the remote refuse the push, rather than fail to answer? Pure."""
    return REFUSAL.search(message) is not None or OUTAGE.search(message) is None


def web_host(api_url: str) -> str:
    """github.com for api.github.com; the Enterprise host for https://HOST/api/v3."""
    host = urlsplit(api_url).hostname or ""
    return "github.com" if host == "api.github.com" else host


def remote_url(root: Path, remote: str) -> str:
    url = git.out(root, "remote", "get-url", remote, check=False)
    if not url:
        raise PushRejected(f"git remote {remote!r} is not set in {root}: add the GitHub "
                           f"repository as {remote!r} (or set tracker.github.remote)")
    return url


def transport(url: str) -> str:
    """The one git transport a push to ``url`` may use; anything else (``ext::``, a remote
    helper) is refused before git runs."""
    parts = urlsplit(url)
    if "::" in url.split("/", 1)[0]:
        scheme = url.split("::", 1)[0]
    elif parts.scheme in ("http", "https", "ssh", "file"):
        scheme = parts.scheme
    elif parts.scheme == "" and ":" in url.split("/", 1)[0]:
        scheme = "ssh"  # scp-like user@host:path
    elif parts.scheme == "":
        scheme = "file"
    else:
        scheme = parts.scheme
    if scheme not in PUSH_PROTOCOLS:
        raise TrackerError(f"the git remote's URL {url!r} uses {scheme!r}; shiftctl pushes "
                           f"only over {', '.join(PUSH_PROTOCOLS)}")
    return scheme


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
    protocol = transport(url)
    env = git.config_env(auth_settings(url, api_url, token))
    # a repository on this machine receives with its hooks off, like every git of ours
    local = ["--receive-pack=git -c core.hooksPath=/dev/null receive-pack"] \
        if protocol == "file" else []
    args = ["push", "--porcelain", "--no-verify", *local,
            *(["--dry-run"] if dry_run else []), remote, refspec]
    proc = git.run(root, *args, check=False, env=env, protocol=protocol, timeout=600)
    if proc.returncode != 0:
        message = f"{proc.stderr.strip()}\n{proc.stdout.strip()}".strip()
        why = Redactor.of([token]).redact(message)[-800:]
        if refused(why):
            raise PushRejected(f"git push to {remote} ({refspec}) was refused: {why}")
        raise TrackerError(f"git push to {remote} ({refspec}) failed: {why}")
