"""The REST endpoints (and the two GraphQL mutations) the fake GitHub serves.

Each handler gets a ``Call`` and returns ``(status, json)``; it raises ``NotFound``,
``Invalid`` or ``Forbidden`` for GitHub's 404, 422 and 403. The permission each route needs
from a fine-grained token is declared next to it, as GitHub documents it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from github_fake import bare, payloads
from github_fake.payloads import Urls
from github_fake.state import ROLES, Invalid, Item, NotFound, World


class Forbidden(Exception):
    def __init__(self, message: str, accepted: str | None = None) -> None:
        super().__init__(message)
        self.accepted = accepted


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    login: str
    headers: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


Reply = tuple[int, Any]
Handler = Callable[["Api", Call], Reply]
ROUTES: list[tuple[str, re.Pattern[str], str, str | None, Handler]] = []
REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


def route(method: str, pattern: str, permission: str | None) -> Callable[[Handler], Handler]:
    """``permission`` is what a fine-grained token needs, e.g. ``issues=write``."""
    def deco(fn: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}$"), pattern, permission, fn))
        return fn
    return deco


BODY_LIMIT = 65_536  # GitHub refuses longer issue, comment and pull request bodies


def _body(value: Any) -> str | None:
    if value is not None and len(str(value)) > BODY_LIMIT:
        raise Invalid(f"Validation Failed: body is too long (maximum is {BODY_LIMIT} characters)")
    return None if value is None else str(value)


def _since(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


class Api:
    def __init__(self, world: World, urls: Urls) -> None:
        self.world = world
        self.urls = urls

    # -- rendering ------------------------------------------------------------------------------
    def user(self, login: str | None) -> dict[str, Any] | None:
        return payloads.user(self.urls, login, self.world.uid(login)) if login else None

    def labels_of(self, item: Item) -> list[dict[str, Any]]:
        return [self.label(self.world.label(n)) for n in item.labels]

    def label(self, rec: Any) -> dict[str, Any]:
        return payloads.label(self.urls, rec.id, rec.name, rec.color, rec.description)

    def issue(self, item: Item) -> dict[str, Any]:
        return payloads.issue(self.urls, item, self.user(item.author), self.labels_of(item),
                              self.user(item.closed_by))

    def repo(self, login: str) -> dict[str, Any]:
        role = self.world.role(login)
        rank = ROLES.index(role)
        perms = {"admin": role == "admin", "maintain": rank >= ROLES.index("maintain"),
                 "push": rank >= ROLES.index("write"), "triage": rank >= ROLES.index("triage"),
                 "pull": rank >= ROLES.index("read")}
        return payloads.repository(self.urls, self.user(self.world.owner),
                                   self.world.default_branch, perms)

    def pull(self, item: Item, login: str, simple: bool = False) -> dict[str, Any]:
        assert item.pull is not None
        return payloads.pull(self.urls, item, self.user(item.author), self.labels_of(item),
                             self.repo(login),
                             bare.rev(self.world.bare, item.pull.head) or "0" * 40,
                             bare.rev(self.world.bare, item.pull.base) or "0" * 40,
                             self.user(item.pull.merged_by), simple=simple)

    def page(self, call: Call, rows: list[Any]) -> list[Any]:
        """One page of ``rows``; the ``Link`` header points at the others (with our host)."""
        per = max(1, min(100, int(call.query.get("per_page", 30))))
        number = max(1, int(call.query.get("page", 1)))
        last = max(1, (len(rows) + per - 1) // per)

        def link(p: int) -> str:
            from urllib.parse import urlencode
            q = dict(call.query, page=str(p), per_page=str(per))
            return f"<{self.urls.api}{call.path}?{urlencode(q)}>"
        rels = []
        if number < last:
            rels += [f'{link(number + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if number > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(number - 1)}; rel="prev"']
        if rels:
            call.links["Link"] = ", ".join(rels)
        return rows[(number - 1) * per: number * per]

    def need_role(self, login: str, least: str) -> None:
        if ROLES.index(self.world.role(login)) < ROLES.index(least):
            raise Forbidden("Must have push access to repository")


# -- users and the repository -------------------------------------------------------------------
@route("GET", "/user", None)
def get_user(api: Api, call: Call) -> Reply:
    return 200, payloads.private_user(api.urls, call.login, api.world.uid(call.login))


@route("GET", REPO, "metadata=read")
def get_repo(api: Api, call: Call) -> Reply:
    return 200, api.repo(call.login)


@route("GET", REPO + r"/collaborators/(?P<username>[^/]+)/permission", "metadata=read")
def get_permission(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    who = call.params["username"]
    if who not in api.world.users:
        raise NotFound(who)
    return 200, payloads.permission(api.urls, api.world.role(who), api.user(who) or {})


# -- issues ---------------------------------------------------------------------------------------
@route("GET", REPO + "/issues", "issues=read")
def list_issues(api: Api, call: Call) -> Reply:
    state = call.query.get("state", "open")
    since = _since(call.query.get("since"))
    wanted = [x for x in call.query.get("labels", "").split(",") if x]
    rows = [i for i in api.world.items.values()
            if (state == "all" or i.state == state)
            and (since is None or int(i.updated_at) >= int(since))
            and all(w.lower() in (x.lower() for x in i.labels) for w in wanted)]
    key = {"created": lambda i: (i.created_at, i.number),
           "updated": lambda i: (i.updated_at, i.number),
           "comments": lambda i: (len(i.comments), i.number)}[call.query.get("sort", "created")]
    rows.sort(key=key, reverse=call.query.get("direction", "desc") == "desc")
    return 200, [api.issue(i) for i in api.page(call, rows)]


@route("POST", REPO + "/issues", "issues=write")
def create_issue(api: Api, call: Call) -> Reply:
    body = call.body or {}
    number = api.world.file_issue(str(body["title"]), body.get("body"), body.get("labels") or (),
                                  call.login)
    return 201, api.issue(api.world.item(number))


@route("GET", REPO + r"/issues/(?P<number>\d+)", "issues=read")
def get_issue(api: Api, call: Call) -> Reply:
    return 200, api.issue(api.world.item(int(call.params["number"])))


@route("PATCH", REPO + r"/issues/(?P<number>\d+)", "issues=write")
def edit_issue(api: Api, call: Call) -> Reply:
    item = api.world.item(int(call.params["number"]))
    body = call.body or {}
    with api.world.lock:
        if "title" in body:
            item.title = body["title"]
        if "body" in body:
            item.body = body["body"]
        if "labels" in body:
            item.labels = []
            api.world.add_labels(item.number, [str(x) for x in body["labels"]], call.login)
        if "state" in body:
            api.world.set_state(item.number, body["state"], call.login, body.get("state_reason"))
        api.world.touch(item)
    return 200, api.issue(item)


@route("GET", REPO + r"/issues/(?P<number>\d+)/comments", "issues=read")
def list_comments(api: Api, call: Call) -> Reply:
    item = api.world.item(int(call.params["number"]))
    since = _since(call.query.get("since"))
    rows = [api.world.comments[c] for c in item.comments]
    rows = [c for c in rows if since is None or int(c.updated_at) >= int(since)]
    return 200, [payloads.comment(api.urls, c, api.user(c.author)) for c in api.page(call, rows)]


@route("POST", REPO + r"/issues/(?P<number>\d+)/comments", "issues=write")
def create_comment(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "read")
    rec = api.world.comment(int(call.params["number"]), str(_body(call.body["body"])), call.login)
    return 201, payloads.comment(api.urls, rec, api.user(rec.author))


@route("PATCH", REPO + r"/issues/comments/(?P<cid>\d+)", "issues=write")
def edit_comment(api: Api, call: Call) -> Reply:
    rec = api.world.edit_comment(int(call.params["cid"]), str(_body(call.body["body"])))
    return 200, payloads.comment(api.urls, rec, api.user(rec.author))


@route("GET", REPO + r"/issues/(?P<number>\d+)/events", "issues=read")
def list_events(api: Api, call: Call) -> Reply:
    n = int(call.params["number"])
    api.world.item(n)
    rows = [e for e in api.world.events if e.issue == n]
    return 200, [payloads.labeled_event(api.urls, e.id, n, api.user(e.actor) or {}, e.kind, e.label,
                                        api.world.label(e.label).color, e.ts)
                 for e in api.page(call, rows)]


# -- labels ---------------------------------------------------------------------------------------
@route("GET", REPO + r"/issues/(?P<number>\d+)/labels", "issues=read")
def issue_labels(api: Api, call: Call) -> Reply:
    item = api.world.item(int(call.params["number"]))
    return 200, api.page(call, api.labels_of(item))


@route("POST", REPO + r"/issues/(?P<number>\d+)/labels", "issues=write")
def add_issue_labels(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "triage")
    body = call.body
    names = body.get("labels", []) if isinstance(body, dict) else body
    names = [x if isinstance(x, str) else x["name"] for x in names or []]
    api.world.add_labels(int(call.params["number"]), names, call.login)
    return 200, api.labels_of(api.world.item(int(call.params["number"])))


@route("DELETE", REPO + r"/issues/(?P<number>\d+)/labels/(?P<name>[^/]+)", "issues=write")
def remove_issue_label(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "triage")
    n = int(call.params["number"])
    api.world.remove_label(n, unquote(call.params["name"]), call.login)
    return 200, api.labels_of(api.world.item(n))


@route("GET", REPO + "/labels", "issues=read")
def repo_labels(api: Api, call: Call) -> Reply:
    return 200, api.page(call, [api.label(r) for r in api.world.labels.values()])


@route("POST", REPO + "/labels", "issues=write")
def create_label(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    rec = api.world.create_label(call.body["name"], call.body.get("color", "ededed"),
                                 call.body.get("description"))
    return 201, api.label(rec)


@route("GET", REPO + r"/labels/(?P<name>[^/]+)", "issues=read")
def get_label(api: Api, call: Call) -> Reply:
    return 200, api.label(api.world.label(unquote(call.params["name"]), create=False))


@route("PATCH", REPO + r"/labels/(?P<name>[^/]+)", "issues=write")
def edit_label(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    body = call.body or {}
    rec = api.world.update_label(unquote(call.params["name"]), body.get("new_name"),
                                 body.get("color"), body.get("description"))
    return 200, api.label(rec)


@route("DELETE", REPO + r"/labels/(?P<name>[^/]+)", "issues=write")
def delete_label(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    api.world.delete_label(unquote(call.params["name"]))
    return 204, None


# -- pull requests -------------------------------------------------------------------------------
@route("GET", REPO + "/pulls", "pull_requests=read")
def list_pulls(api: Api, call: Call) -> Reply:
    state = call.query.get("state", "open")
    head = call.query.get("head")
    base = call.query.get("base")
    rows = []
    for item in api.world.pulls():
        assert item.pull is not None
        if state != "all" and item.state != state:
            continue
        if head and f"{api.world.owner}:{item.pull.head}" != head and item.pull.head != head:
            continue
        if base and item.pull.base != base:
            continue
        rows.append(item)
    rows.sort(key=lambda i: i.created_at, reverse=call.query.get("direction", "desc") == "desc")
    return 200, [api.pull(i, call.login, simple=True) for i in api.page(call, rows)]


@route("POST", REPO + "/pulls", "pull_requests=write")
def create_pull(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    body = call.body or {}
    head = str(body["head"]).split(":", 1)[-1]
    item = api.world.open_pull(head, str(body["base"]), str(body.get("title", "")),
                               _body(body.get("body")), bool(body.get("draft", False)), call.login)
    return 201, api.pull(item, call.login)


@route("GET", REPO + r"/pulls/(?P<number>\d+)", "pull_requests=read")
def get_pull(api: Api, call: Call) -> Reply:
    item = api.world.item(int(call.params["number"]))
    if item.pull is None:
        raise NotFound("not a pull request")
    return 200, api.pull(item, call.login)


@route("PATCH", REPO + r"/pulls/(?P<number>\d+)", "pull_requests=write")
def edit_pull(api: Api, call: Call) -> Reply:
    api.need_role(call.login, "write")
    item = api.world.item(int(call.params["number"]))
    if item.pull is None:
        raise NotFound("not a pull request")
    body = call.body or {}
    with api.world.lock:
        if "title" in body:
            item.title = body["title"]
        if "body" in body:
            item.body = _body(body["body"])
        if body.get("state") in ("open", "closed"):
            api.world.set_state(item.number, body["state"], call.login)
        api.world.touch(item)
    return 200, api.pull(item, call.login)


# -- GraphQL: exactly the two mutations PyGithub sends for draft state ------------------------
GRAPHQL_MUTATIONS = {
    "markPullRequestReadyForReview": False,
    "convertPullRequestToDraft": True,
}
_MUTATION = re.compile(r"^mutation Mutation\(\$input: (\w+)Input!\) \{ (\w+)\(input: \$input\) "
                       r"\{ clientMutationId pullRequest \{ isDraft \} \} \}$")


def graphql(api: Api, call: Call) -> Reply:
    body = call.body or {}
    m = _MUTATION.match(str(body.get("query", "")))
    if not m or m.group(2) not in GRAPHQL_MUTATIONS or m.group(1).lower() != m.group(2).lower():
        raise Invalid(f"unsupported GraphQL document: {body.get('query')!r}")
    variables = body.get("variables") or {}
    given = variables.get("input") or {}
    if set(given) - {"pullRequestId", "clientMutationId"} or "pullRequestId" not in given:
        raise Invalid(f"unexpected input {given!r}")
    for item in api.world.pulls():
        if f"PR_{payloads.node_id('PR', item.number)}" == given["pullRequestId"]:
            api.need_role(call.login, "write")
            api.world.set_draft(item.number, GRAPHQL_MUTATIONS[m.group(2)])
            return 200, {"data": {m.group(2): {
                "clientMutationId": given.get("clientMutationId"),
                "pullRequest": {"isDraft": GRAPHQL_MUTATIONS[m.group(2)]}}}}
    return 200, {"data": {m.group(2): None},
                 "errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a node"}]}


def match(method: str, path: str) -> tuple[Handler, dict[str, str], str, str | None] | None:
    for verb, pattern, raw, permission, fn in ROUTES:
        if verb != method:
            continue
        m = pattern.match(path)
        if m:
            return fn, m.groupdict(), raw, permission
    return None
