"""``shiftctl doctor`` for GitHub: can this token do what shiftctl needs, and if not, what is
missing.

Classic tokens announce their scopes (``X-OAuth-Scopes``); fine-grained tokens and GitHub
App tokens do not, so each permission is tried with a request that changes nothing:

- Issues read/write: list issues; create shiftctl's state labels if missing, else
  re-save one label unchanged;
- Pull requests read/write: list pull requests; ask to open one from the base branch
  onto itself, which GitHub refuses with 422 (no commits) only after the permission check;
- Contents write: ``git push --dry-run`` of a new ref to the remote, with the token.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shiftctl.admin.tracker.base import TrackerError

if TYPE_CHECKING:
    from shiftctl.admin.tracker.github.tracker import GithubTracker

PROBE_REF = "refs/heads/shiftctl/access-check"


def _call(t: GithubTracker, verb: str, path: str, body: Any = None,
          params: dict[str, Any] | None = None) -> tuple[int, dict[str, Any], Any]:
    status, headers, raw = t.client.requester.requestJson(verb, path, params, None, body)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return status, headers, data


def _denied(what: str, status: int, headers: dict[str, Any], data: Any) -> str:
    needed = headers.get("x-accepted-github-permissions")
    message = (data or {}).get("message", "") if isinstance(data, dict) else ""
    hint = f"; GitHub accepts: {needed}" if needed else ""
    return f"{what} (GitHub answered {status} {message}{hint})".replace(" )", ")")


def check_access(t: GithubTracker) -> list[str]:
    repo = t.settings.repo
    missing: list[str] = []
    try:
        status, headers, data = _call(t, "GET", t.repo_url)
    except TrackerError as exc:
        return [str(exc)]
    if status in (401, 403, 404) or not isinstance(data, dict):
        return [f"the token in ${t.settings.token_env} cannot see {repo} (GitHub answered "
                f"{status}): check tracker.github.repo, and that the token may read the "
                "repository (Metadata: read)"]
    scopes = headers.get("x-oauth-scopes")
    if scopes is not None:
        have = {s.strip() for s in scopes.split(",") if s.strip()}
        if "repo" not in have and not ("public_repo" in have and not data.get("private")):
            missing.append("token scope 'repo' (a classic token needs it to write issues, "
                           "pull requests and branches)")
    if not (data.get("permissions") or {}).get("push"):
        missing.append(f"write access to {repo} for the token's account (it cannot push)")
    base = data.get("default_branch") or "main"
    missing += _probe_reads(t)
    missing += _probe_issue_write(t)
    missing += _probe_pull_write(t, base)
    try:
        t.probe_push(f"HEAD:{PROBE_REF}")
    except TrackerError as exc:
        missing.append(f"Contents: write ({exc})")
    return missing


def _probe_reads(t: GithubTracker) -> list[str]:
    out = []
    for what, path in (("Issues: read", "/issues"), ("Pull requests: read", "/pulls")):
        status, headers, data = _call(t, "GET", t.repo_url + path, params={"per_page": 1})
        if status >= 400:
            out.append(_denied(what, status, headers, data))
    return out


def _probe_issue_write(t: GithubTracker) -> list[str]:
    from shiftctl.admin.tracker.github.tracker import LABEL_STYLE
    for name, (color, description) in LABEL_STYLE.items():
        status, headers, data = _call(t, "GET", f"{t.repo_url}/labels/{quote(name, safe='')}")
        if status == 404:
            status, headers, data = _call(t, "POST", f"{t.repo_url}/labels",
                                          {"name": name, "color": color,
                                           "description": description})
        elif status < 400:
            status, headers, data = _call(t, "PATCH", f"{t.repo_url}/labels/{quote(name, safe='')}",
                                          {"color": data.get("color") or color})
        if status >= 400:
            return [_denied("Issues: write", status, headers, data)]
    return []


def _probe_pull_write(t: GithubTracker, base: str) -> list[str]:
    status, headers, data = _call(t, "POST", f"{t.repo_url}/pulls",
                                  {"title": "shiftctl access check", "head": base, "base": base})
    if status in (401, 403, 404):
        return [_denied("Pull requests: write", status, headers, data)]
    if status < 300:  # cannot happen on GitHub (no commits between a branch and itself)
        number = data.get("number") if isinstance(data, dict) else None
        if number:
            _call(t, "PATCH", f"{t.repo_url}/pulls/{number}", {"state": "closed"})
    return []
