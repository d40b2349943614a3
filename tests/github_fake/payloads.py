"""JSON bodies shaped like GitHub's: the description's own examples, with our state in them.

Starting from ``components/examples`` keeps every field GitHub documents (and PyGithub
parses) present; the fake then overrides what it models. Every URL is rewritten to the
fake's own host, as PyGithub refuses URLs pointing elsewhere.
"""
from __future__ import annotations

import base64
import copy
import time
from datetime import UTC, datetime
from typing import Any

from github_fake.spec import example


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


class Urls:
    """Where the fake lives: ``api`` (maybe with a GHE prefix) and ``web``."""

    def __init__(self, api: str, web: str, owner: str, name: str) -> None:
        self.api = api.rstrip("/")
        self.web = web.rstrip("/")
        self.owner = owner
        self.name = name
        self.repo_api = f"{self.api}/repos/{owner}/{name}"
        self.repo_web = f"{self.web}/{owner}/{name}"

    def rewrite(self, value: Any, extra: dict[str, str] | None = None) -> Any:
        subst = [("https://api.github.com", self.api),
                 ("https://uploads.github.com", self.web),
                 ("https://avatars.githubusercontent.com", self.web),
                 ("https://github.com", self.web),
                 ("octocat/Hello-World", f"{self.owner}/{self.name}"),
                 ("octocat/linguist", f"{self.owner}/{self.name}")]
        subst += list((extra or {}).items())

        def walk(v: Any) -> Any:
            if isinstance(v, str):
                for old, new in subst:
                    v = v.replace(old, new)
                return v
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            return v
        return walk(copy.deepcopy(value))


def user(urls: Urls, login: str, uid: int) -> dict[str, Any]:
    body = urls.rewrite(example("simple-user"), {"octocat": login})
    body.update(login=login, id=uid, node_id=node_id("U", uid), type="User", site_admin=False)
    return body


def private_user(urls: Urls, login: str, uid: int) -> dict[str, Any]:
    body = urls.rewrite(example("private-user"), {"octocat": login})
    body.update(user(urls, login, uid))
    body.update(name=login, email=None, user_view_type="private")
    return body


def label(urls: Urls, lid: int, name: str, color: str, description: str | None) -> dict[str, Any]:
    from urllib.parse import quote
    body = urls.rewrite(example("label"))
    body.update(id=lid, node_id=node_id("LA", lid), url=f"{urls.repo_api}/labels/{quote(name)}",
                name=name, color=color, description=description, default=False)
    return body


def issue(urls: Urls, item: Any, author: dict[str, Any], labels: list[dict[str, Any]],
          closed_by: dict[str, Any] | None) -> dict[str, Any]:
    n = item.number
    body = urls.rewrite(example("issue"), {"/issues/1347": f"/issues/{n}",
                                           "/pull/1347": f"/pull/{n}",
                                           "/pulls/1347": f"/pulls/{n}"})
    body.update(
        id=item.id, node_id=node_id("I", item.id), number=n, title=item.title, body=item.body,
        user=author, labels=labels, state=item.state, state_reason=item.state_reason,
        assignee=None, assignees=[], milestone=None, locked=False, active_lock_reason=None,
        comments=len(item.comments), created_at=iso(item.created_at),
        updated_at=iso(item.updated_at), closed_at=iso(item.closed_at), closed_by=closed_by,
        author_association="COLLABORATOR", pinned_comment=None,
        url=f"{urls.repo_api}/issues/{n}", html_url=f"{urls.repo_web}/issues/{n}",
        repository_url=urls.repo_api, labels_url=f"{urls.repo_api}/issues/{n}/labels{{/name}}",
        comments_url=f"{urls.repo_api}/issues/{n}/comments",
        events_url=f"{urls.repo_api}/issues/{n}/events",
        timeline_url=f"{urls.repo_api}/issues/{n}/timeline", performed_via_github_app=None,
        reactions={"url": f"{urls.repo_api}/issues/{n}/reactions", "total_count": 0,
                   "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0,
                   "rocket": 0, "eyes": 0})
    body.pop("repository", None)
    if item.pull is None:
        body.pop("pull_request", None)
        body.pop("draft", None)
    else:
        body["pull_request"] = {
            "url": f"{urls.repo_api}/pulls/{n}", "html_url": f"{urls.repo_web}/pull/{n}",
            "diff_url": f"{urls.repo_web}/pull/{n}.diff",
            "patch_url": f"{urls.repo_web}/pull/{n}.patch",
            "merged_at": iso(item.pull.merged_at)}
        body["draft"] = item.pull.draft
    return body


def comment(urls: Urls, c: Any, author: dict[str, Any]) -> dict[str, Any]:
    body = urls.rewrite(example("issue-comment"))
    body.update(id=c.id, node_id=node_id("IC", c.id), body=c.body, user=author,
                created_at=iso(c.created_at), updated_at=iso(c.updated_at),
                url=f"{urls.repo_api}/issues/comments/{c.id}",
                html_url=f"{urls.repo_web}/issues/{c.issue}#issuecomment-{c.id}",
                issue_url=f"{urls.repo_api}/issues/{c.issue}", author_association="COLLABORATOR")
    return body


def repository(urls: Urls, owner: dict[str, Any], default_branch: str,
               permissions: dict[str, bool]) -> dict[str, Any]:
    body = urls.rewrite(example("full-repository"))
    body.update(name=urls.name, full_name=f"{urls.owner}/{urls.name}", owner=owner,
                private=True, visibility="private", default_branch=default_branch,
                permissions=permissions, url=urls.repo_api, html_url=urls.repo_web,
                has_discussions=False)
    for key in ("organization", "parent", "source", "template_repository"):
        body.pop(key, None)
    return body


def pull(urls: Urls, item: Any, author: dict[str, Any], labels: list[dict[str, Any]],
         repo: dict[str, Any], head_sha: str, base_sha: str,
         merged_by: dict[str, Any] | None, simple: bool = False) -> dict[str, Any]:
    n = item.number
    p = item.pull
    name = "pull-request-simple-items" if simple else "pull-request"
    raw = example(name)
    body = urls.rewrite(raw[0] if isinstance(raw, list) else raw,
                        {"/issues/1347": f"/issues/{n}", "/pulls/1347": f"/pulls/{n}",
                         "/pull/1347": f"/pull/{n}"})
    state = "closed" if item.state == "closed" else "open"
    body.update(
        id=item.id, node_id=f"PR_{node_id('PR', n)}", number=n, title=item.title, body=item.body,
        user=author, labels=labels, state=state, locked=False, milestone=None,
        active_lock_reason=None, assignee=None, assignees=[], requested_reviewers=[],
        requested_teams=[], created_at=iso(item.created_at), updated_at=iso(item.updated_at),
        closed_at=iso(item.closed_at), merged_at=iso(p.merged_at),
        merge_commit_sha=p.merge_commit_sha, draft=p.draft, author_association="COLLABORATOR",
        auto_merge=None,
        url=f"{urls.repo_api}/pulls/{n}", html_url=f"{urls.repo_web}/pull/{n}",
        issue_url=f"{urls.repo_api}/issues/{n}")
    for side, ref, sha in (("head", p.head, head_sha), ("base", p.base, base_sha)):
        body[side] = {"label": f"{urls.owner}:{ref}", "ref": ref, "sha": sha,
                      "user": repo["owner"], "repo": repo}
    body["_links"]["statuses"] = {"href": f"{urls.repo_api}/statuses/{head_sha}"}
    if not simple:
        body.update(merged=p.merged_at is not None, merged_by=merged_by,
                    mergeable=None if state == "closed" else True, rebaseable=None,
                    mergeable_state="draft" if p.draft else "clean",
                    comments=len(item.comments), review_comments=0,
                    maintainer_can_modify=False, commits=1, additions=1, deletions=0,
                    changed_files=1)
    return body


def labeled_event(urls: Urls, eid: int, issue_number: int, actor: dict[str, Any], kind: str,
                  name: str, color: str, ts: float) -> dict[str, Any]:
    body = urls.rewrite(example("issue-event-for-issue-items")[0])
    body.update(id=eid, node_id=node_id("LE", eid), url=f"{urls.repo_api}/issues/events/{eid}",
                actor=actor, event=kind, commit_id=None, commit_url=None,
                created_at=iso(ts), performed_via_github_app=None,
                label={"name": name, "color": color})
    return body


def permission(urls: Urls, role: str, collaborator: dict[str, Any]) -> dict[str, Any]:
    legacy = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read",
              "read": "read"}.get(role, "none")
    body = urls.rewrite(example(
        "repository-collaborator-permission-response-if-user-has-admin-permissions"))
    user_part = dict(collaborator)
    user_part["permissions"] = {"admin": role == "admin", "maintain": role in ("admin", "maintain"),
                                "push": legacy in ("admin", "write"),
                                "triage": role in ("admin", "maintain", "write", "triage"),
                                "pull": role != "none"}
    user_part["role_name"] = role
    body.update(permission=legacy, role_name=role, user=user_part)
    return body


def error(message: str, status: int) -> dict[str, Any]:
    return {"message": message,
            "documentation_url": "https://docs.github.com/rest", "status": str(status)}


def now() -> float:
    return time.time()
