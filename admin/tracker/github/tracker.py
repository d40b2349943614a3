"""GitHub as the tracker, through PyGithub, behind the same interface as the local tracker.

An idle cycle costs one conditional request (see ``cursor``). Everything else happens
only when there is something to do: comments of an issue whose comment count moved, a
collaborator's permission (cached for an hour in the admin's kv), who applied a label,
and the writes the outbox sends. Writes are idempotent where GitHub's API is not: labels
are diffed against the issue's current ones, pull requests found by head branch first.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from github import GithubException

from shiftctl.admin.config import Config
from shiftctl.admin.tracker import markers
from shiftctl.admin.tracker.base import (
    Changes,
    Comment,
    KeyValue,
    PullRequest,
    Tracker,
    TrackerError,
    TrackerIssue,
)
from shiftctl.admin.tracker.github import CACHE, bot_key
from shiftctl.admin.tracker.github import push as gh_push
from shiftctl.admin.tracker.github.client import Client, as_tracker_error
from shiftctl.admin.tracker.github.cursor import Cursor, next_since, wants_comments

PERMISSION_TTL_S = 3600.0
WRITERS = ("admin", "maintain", "write")
LABEL_STYLE = {
    "shiftctl:planned": ("c5def5", "shiftctl: planned, waiting for approval"),
    "shiftctl:active": ("0e8a16", "shiftctl: agents are working on it"),
    "shiftctl:needs-human": ("d93f0b", "shiftctl: waiting for a person"),
    "shiftctl:done": ("5319e7", "shiftctl: all tasks merged; the pull request is ready"),
}


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


def _login(user: Any) -> str:
    if isinstance(user, dict):
        return str(user.get("login") or "")
    return str(getattr(user, "login", "") or "")


def _comment(raw: dict[str, Any]) -> Comment:
    return Comment(id=int(raw["id"]), author=_login(raw.get("user")), body=raw.get("body") or "",
                   created_at=raw.get("created_at") or "")


def _issue(raw: dict[str, Any]) -> TrackerIssue:
    return TrackerIssue(number=int(raw["number"]), title=raw.get("title") or "",
                        body=raw.get("body") or "", author=_login(raw.get("user")),
                        labels=[str(x["name"]) for x in raw.get("labels") or []],
                        state=raw.get("state") or "open", updated_at=raw.get("updated_at") or "")


def _pr_from_item(raw: dict[str, Any]) -> PullRequest:
    """A pull request as the issues listing shows it (its head only from our marker)."""
    found = markers.find(raw.get("body") or "")
    mark = found if found and found[0] == "pr" else None
    merged = bool((raw.get("pull_request") or {}).get("merged_at"))
    return PullRequest(number=int(raw["number"]), title=raw.get("title") or "",
                       head=mark[2] if mark else "", base="",
                       state="merged" if merged else raw.get("state") or "open",
                       draft=bool(raw.get("draft")), issue=mark[1] if mark else None,
                       body=raw.get("body") or "", url=raw.get("html_url") or "")


def _pr(pull: Any) -> PullRequest:
    found = markers.find(pull.body or "")
    return PullRequest(number=pull.number, title=pull.title or "", head=pull.head.ref,
                       base=pull.base.ref,
                       state="merged" if pull.merged_at is not None else pull.state,
                       draft=bool(pull.draft),
                       issue=found[1] if found and found[0] == "pr" else None,
                       body=pull.body or "", url=pull.html_url or "")


class GithubTracker(Tracker):
    kind = "github"

    def __init__(self, config: Config, kv: KeyValue, *, token: str | None = None) -> None:
        gc = config.tracker.github
        token = token if token is not None else os.environ.get(gc.token_env, "")
        if not token:
            raise TrackerError(f"${gc.token_env} is not set: export a GitHub token with access "
                               f"to {gc.repo} (tracker.github.token_env names the variable)")
        self._token = token
        self.root = config.root
        self.settings = gc
        self.kv = kv
        self.intake_label = config.tracker.intake_label
        self.allowed = tuple(config.tracker.allowed_authors)
        self.client = Client(api_url=gc.api_url, token=token, write_interval=gc.write_interval,
                             max_wait=gc.max_retry_wait)
        self.repo = self.client.gh.get_repo(gc.repo)  # lazy: no request
        self.repo_url = f"/repos/{gc.repo}"
        self._bot = gc.bot
        self._cursor: Cursor | None = None
        self._comment_pages: dict[int, tuple[str | None, list[Comment]]] = {}
        self._critical: tuple[str | None, bool] = (None, False)

    # -- plumbing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _api(self, what: str) -> Iterator[None]:
        try:
            yield
        except TrackerError:
            raise
        except Exception as exc:  # PyGithub, requests and JSON errors alike
            raise as_tracker_error(exc, what) from None

    @property
    def requests(self) -> int:  # type: ignore[override]
        return self.client.requests

    @property
    def bot(self) -> str:  # type: ignore[override]
        """The token's login: configured, cached in kv, or asked once (GET /user)."""
        if self._bot is None:
            key = bot_key(self.settings.api_url)
            self._bot = self.kv.get(key)
            if self._bot is None:
                with self._api("who the token belongs to (GET /user; with a GitHub App "
                               "token, set tracker.github.bot to its NAME[bot] login)"):
                    self._bot = self.client.gh.get_user().login
                self.kv.put(key, self._bot)
        return self._bot

    def close(self) -> None:
        self.client.close()

    def rate_status(self) -> dict[str, Any] | None:
        return self.client.rate_status()

    def cursor(self) -> str | None:
        return self._cursor.encode() if self._cursor is not None else None

    def _relevant(self, labels: list[str]) -> bool:
        """May shiftctl care about this issue's comments? (its intake or state labels)"""
        return any(x == self.intake_label or x.startswith("shiftctl:") for x in labels)

    # -- reading --------------------------------------------------------------------------------
    def sync(self, cursor: str | None) -> Changes:
        cur = Cursor.decode(cursor)
        first = cur is None
        cur = cur or Cursor()
        params: dict[str, Any] = {"state": "open" if first else "all", "sort": "updated",
                                  "direction": "desc", "per_page": 100}
        if cur.since:
            params["since"] = cur.since
        with self._api("list issues"):
            pages = self.client.get_pages(f"{self.repo_url}/issues", params,
                                          etag=None if first else cur.etag)
        if pages.status == 304:
            self._cursor = cur
            return Changes([], [], cur.encode())
        issues: list[TrackerIssue] = []
        prs: list[PullRequest] = []
        for raw in pages.items:
            if "pull_request" in raw:
                if _login(raw.get("user")) == self.bot:
                    prs.append(_pr_from_item(raw))
                continue
            ti = _issue(raw)
            issues.append(ti)
            if not self._relevant(ti.labels):
                continue
            count = int(raw.get("comments") or 0)
            if wants_comments(cur.seen, ti.number, count):
                ti.comments = self._comments(ti.number, cur.since)
            if ti.state == "open":
                cur.seen[ti.number] = count
            else:
                cur.seen.pop(ti.number, None)
        newest = pages.items[0].get("updated_at") if pages.items else None
        since, keep = next_since(cur, first=first, newest=newest, server_date=pages.date,
                                 changed=len(pages.items))
        cur.since, cur.etag = since, pages.etag if keep else None
        self._cursor = cur
        return Changes(sorted(issues, key=lambda i: i.number), prs, cur.encode())

    def _comments(self, number: int, since: str | None = None) -> list[Comment]:
        params: dict[str, Any] = {"per_page": 100}
        if since:
            params["since"] = since
        with self._api(f"comments of #{number}"):
            pages = self.client.get_pages(f"{self.repo_url}/issues/{number}/comments", params)
        return [_comment(c) for c in pages.items]

    def get_issue(self, number: int) -> TrackerIssue:
        with self._api(f"issue #{number}"):
            status, _h, body = self.client.requester.requestJson(
                "GET", f"{self.repo_url}/issues/{number}")
            if status == 404:
                raise TrackerError(f"no issue #{number} in {self.settings.repo}")
            self.client.raise_for(status, _h, body)
            issue = _issue(json.loads(body))
        issue.comments = self._comments(number)
        return issue

    def find_comment(self, number: int, marker: str) -> Comment | None:
        """A fresh look at the issue's comments (conditional: unchanged pages cost nothing)."""
        etag, known = self._comment_pages.get(number, (None, []))
        with self._api(f"comments of #{number}"):
            pages = self.client.get_pages(f"{self.repo_url}/issues/{number}/comments",
                                          {"per_page": 100}, etag=etag)
        if pages.status != 304:
            known = [_comment(c) for c in pages.items]
            if len(known) <= 100:  # one page: its ETag covers them all
                self._comment_pages[number] = (pages.etag, known)
        return next((c for c in known if marker in c.body), None)

    def label_actor(self, number: int, label: str) -> str | None:
        with self._api(f"events of #{number}"):
            pages = self.client.get_pages(f"{self.repo_url}/issues/{number}/events",
                                          {"per_page": 100})
        actor = None
        for ev in pages.items:
            if ev.get("event") == "labeled" and \
                    str((ev.get("label") or {}).get("name", "")).lower() == label.lower():
                actor = _login(ev.get("actor"))
        return actor

    def is_allowed(self, author: str) -> bool:
        if not author or author == self.bot:
            return False
        if self.allowed:
            return author in self.allowed
        return self._permission(author) in WRITERS

    def _permission(self, login: str) -> str:
        key = f"{CACHE}:permission:{self.settings.repo}:{login}"
        cached = self.kv.get(key)
        if cached:
            data = json.loads(cached)
            if time.time() - float(data["at"]) < PERMISSION_TTL_S:
                return str(data["permission"])
        with self._api(f"permission of {login}"):
            try:
                permission = self.repo.get_collaborator_permission(login)
            except GithubException as exc:
                if exc.status != 404:
                    raise
                permission = "none"
        self.kv.put(key, json.dumps({"permission": permission, "at": time.time()}))
        return permission

    def critical_since(self, cursor: str | None, label: str) -> bool:
        """A new (never seen) open intake issue labelled priority:critical, by an allowed author."""
        cur = Cursor.decode(cursor) or Cursor()
        params: dict[str, Any] = {"state": "open", "labels": f"{label},priority:critical",
                                  "sort": "updated", "direction": "desc", "per_page": 100}
        if cur.since:
            params["since"] = cur.since
        etag, last = self._critical
        with self._api("list critical issues"):
            pages = self.client.get_pages(f"{self.repo_url}/issues", params, etag=etag)
        if pages.status == 304:
            return last
        found = any("pull_request" not in raw and int(raw["number"]) not in cur.seen
                    and self.is_allowed(_login(raw.get("user"))) for raw in pages.items)
        self._critical = (pages.etag, found)
        return found

    # -- writing ---------------------------------------------------------------------------------
    def post_comment(self, number: int, body: str) -> Comment:
        with self._api(f"comment on #{number}"):
            posted = self.repo.get_issue(number).create_comment(body)
            comment = Comment(id=posted.id, author=posted.user.login, body=posted.body or "",
                              created_at=_stamp(posted.created_at))
        if self._cursor is not None and number in self._cursor.seen:
            self._cursor.seen[number] += 1  # our own: not news for the next sync
        return comment

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        with self._api(f"edit comment {comment_id} on #{number}"):
            self.repo.get_issue(number).get_comment(comment_id).edit(body)

    def set_labels(self, number: int, add: tuple[str, ...] = (),
                   remove: tuple[str, ...] = ()) -> None:
        """Idempotent: one read, then only the changes the issue needs."""
        with self._api(f"labels of #{number}"):
            current = {x.lower() for x in self._labels(number)}
            missing = [x for x in add if x.lower() not in current]
            gone = [x for x in remove if x.lower() in current and x not in add]
            for name in missing:
                self._ensure_label(name)
            if missing:
                self._add_labels(number, missing)
            for name in gone:
                self._remove_label(number, name)

    def _labels(self, number: int) -> list[str]:
        pages = self.client.get_pages(f"{self.repo_url}/issues/{number}/labels", {"per_page": 100})
        return [str(x["name"]) for x in pages.items]

    def _add_labels(self, number: int, names: list[str]) -> list[str]:
        """POST the documented ``{"labels": [...]}`` (PyGithub's ``add_to_labels`` sends a bare
        list, which GitHub's OpenAPI description no longer allows); returns the issue's labels."""
        _h, data = self.client.requester.requestJsonAndCheck(
            "POST", f"{self.repo_url}/issues/{number}/labels", input={"labels": names})
        return [str(x["name"]) for x in data or []]

    def _remove_label(self, number: int, name: str) -> None:
        self.client.requester.requestJsonAndCheck(
            "DELETE", f"{self.repo_url}/issues/{number}/labels/{quote(name, safe='')}")

    def _ensure_label(self, name: str) -> None:
        """Create a label shiftctl uses, with its colour, once per repository."""
        key = f"{CACHE}:label:{self.settings.repo}:{name}"
        if self.kv.get(key) or name not in LABEL_STYLE:
            return
        status, _h, _b = self.client.requester.requestJson(
            "GET", f"{self.repo_url}/labels/{quote(name, safe='')}")
        if status == 404:
            color, description = LABEL_STYLE[name]
            try:
                self.repo.create_label(name, color, description)
            except GithubException as exc:
                if exc.status != 422:  # 422: created meanwhile
                    raise
        self.kv.put(key, "1")

    def close_issue(self, number: int) -> None:
        with self._api(f"close #{number}"):
            self.repo.get_issue(number).edit(state="closed", state_reason="completed")

    # -- what people do from the CLI ---------------------------------------------------------
    def new_issue(self, title: str, body: str, labels: Sequence[str],
                  author: str) -> TrackerIssue:
        """Filed by the token's account (GitHub does not let one choose; ``author`` is the
        local name the CLI would use on the local tracker)."""
        with self._api("file an issue"):
            made = self.repo.create_issue(title=title, body=body, labels=list(labels))
            return _issue(made.raw_data)

    def list_issues(self, state: str | None = "open") -> list[TrackerIssue]:
        params = {"state": state or "all", "sort": "created", "direction": "asc",
                  "per_page": 100}
        with self._api("list issues"):
            pages = self.client.get_pages(f"{self.repo_url}/issues", params)
        return [_issue(raw) for raw in pages.items if "pull_request" not in raw]

    def list_prs(self, state: str | None = None) -> list[PullRequest]:
        with self._api("list pull requests"):
            pulls = list(self.repo.get_pulls(state=state or "all", sort="created",
                                             direction="asc"))
            return [_pr(p) for p in pulls]

    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> None:
        changes: dict[str, Any] = {k: v for k, v in (("title", title), ("body", body),
                                                     ("state", state)) if v is not None}
        with self._api(f"edit #{number}"):
            self.repo.get_issue(number).edit(**changes)

    def find_pr(self, head: str) -> PullRequest | None:
        owner = self.settings.repo.split("/", 1)[0]
        with self._api(f"pull requests from {head}"):
            pulls = list(self.repo.get_pulls(state="all", head=f"{owner}:{head}"))
            found = [_pr(p) for p in pulls if p.head.ref == head]
        if not found:
            return None
        found.sort(key=lambda p: (p.state == "open", p.number), reverse=True)
        return found[0]

    def get_pr(self, number: int) -> PullRequest:
        with self._api(f"pull request #{number}"):
            return _pr(self.repo.get_pull(number))

    def open_pr(self, *, head: str, base: str, title: str, body: str, draft: bool,
                issue: int | None) -> PullRequest:
        try:
            with self._api(f"open a pull request from {head}"):
                return _pr(self.repo.create_pull(base=base, head=head, title=title, body=body,
                                                 draft=draft))
        except TrackerError as exc:
            existing = self.find_pr(head) if "already exists" in str(exc) else None
            if existing is None or existing.state != "open":
                raise
            return existing

    def update_pr(self, number: int, *, body: str | None = None, draft: bool | None = None,
                  title: str | None = None) -> None:
        pull = self.repo.get_pull(number)  # lazy
        with self._api(f"update pull request #{number}"):
            if title is not None or body is not None:
                pull.edit(**{k: v for k, v in (("title", title), ("body", body))  # type: ignore[arg-type]
                             if v is not None})
            if draft is False:
                pull.mark_ready_for_review()  # GraphQL: the REST API cannot undraft
            elif draft is True:
                pull.convert_to_draft()

    def push(self, repo: Path, branch: str, sha: str | None = None) -> None:
        source = sha or f"refs/heads/{branch}"
        gh_push.push(repo, self.settings.remote, f"{source}:refs/heads/{branch}",
                     api_url=self.settings.api_url, token=self._token)

    def probe_push(self, refspec: str) -> None:
        """``git push --dry-run``: may the token write to the remote? (raises if not)"""
        gh_push.push(self.root, self.settings.remote, refspec, api_url=self.settings.api_url,
                     token=self._token, dry_run=True)

    def check_access(self) -> list[str]:
        from shiftctl.admin.tracker.github.access import check_access
        return check_access(self)
