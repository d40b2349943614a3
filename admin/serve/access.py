"""Who may talk to the server (pure): loopback binds, tokens, Host headers.

A bind other than loopback needs a token (``serve.token_env``, default
``SHIFTCTL_SERVE_TOKEN``); with a token every request must carry it, as ``Authorization:
Bearer`` or the cookie that ``?token=`` sets once. Without a token the server listens on
loopback only and answers only requests addressed to a loopback name, so a web page that
rebinds its own domain to 127.0.0.1 (DNS rebinding) cannot read the dashboard.
"""
from __future__ import annotations

import hmac
import ipaddress

MIN_TOKEN_CHARS = 16
COOKIE = "shiftctl_token"
LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; ``0.0.0.0``, ``::`` and every other address are not."""
    name = host.strip().lower().strip("[]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_error(host: str, token: str | None, token_env: str) -> str | None:
    """Why the server must not start on ``host`` with this token, or None."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        return (f"{token_env} is {len(token)} characters long; use at least "
                f"{MIN_TOKEN_CHARS} characters (e.g. python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')")
    if token is None and not is_loopback(host):
        return (f"refusing to serve on {host} without a token: anyone who can reach it would "
                f"read every issue, agent log and cost. Set {token_env} (at least "
                f"{MIN_TOKEN_CHARS} characters) or bind 127.0.0.1")
    return None


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time: the time taken says nothing about how much of a guess was right."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def host_is_loopback(host_header: str | None) -> bool:
    """The ``Host`` header names a loopback host (any port)."""
    if not host_header:
        return False
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8765
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return is_loopback(host)
