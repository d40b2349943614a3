"""A stateful fake of the GitHub REST API on 127.0.0.1, checked against GitHub's OpenAPI.

Driven by the real PyGithub: tokens, ETags and ``If-None-Match`` (a 304 costs no quota),
``X-RateLimit-*`` headers, primary and secondary rate limits (injectable), fine-grained and
classic token permissions, pagination with ``Link`` headers, and a GHE mode under
``/api/v3``. Every request and every response it produces is validated against the
description; whatever does not match is recorded in ``problems`` and fails the test.
Three kinds of answer GitHub gives on any endpoint are not looked up per endpoint (only
their requests are checked): 304 Not Modified, rate-limit refusals, and permission 403s.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from github_fake import routes, spec
from github_fake.payloads import Urls, error
from github_fake.routes import Api, Call, Forbidden
from github_fake.state import Invalid, NotFound, World
from support import loopback

LEVELS = {"read": 1, "write": 2, "admin": 3}


@dataclass
class Grant:
    """What a token is: whose, and either classic ``scopes`` or fine-grained ``permissions``."""
    login: str
    scopes: tuple[str, ...] | None = ("repo",)
    permissions: dict[str, str] | None = None


@dataclass
class Logged:
    method: str
    path: str
    query: str
    status: int
    login: str | None
    ts: float
    body: bytes = b""  # the request's body as received (what shiftctl sent)


@dataclass
class Fault:
    """The next ``times`` matching requests are answered with this instead of being served."""
    status: int
    message: str
    retry_after: int | None
    method: str | None = None
    path_contains: str | None = None
    times: int = 1
    hits: int = 0


@dataclass
class Quota:
    limit: int = 5000
    used: int = 0
    reset_at: float = field(default_factory=lambda: time.time() + 3600)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class FakeGitHub:
    def __init__(self, world: World, *, prefix: str = "", validate: bool = True) -> None:
        self.world = world
        self.prefix = prefix.rstrip("/")
        self.validate = validate
        self.tokens: dict[str, Grant] = {}
        self.quotas: dict[str, Quota] = {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.problems: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self.api: Api | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        self._httpd = loopback.start(self._handle, keep_alive=True)
        self.api = Api(self.world, Urls(self.base_url, self.web_url, self.world.owner,
                                        self.world.name))
        return self

    def stop(self) -> None:
        loopback.stop(self._httpd)

    @property
    def web_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What PyGithub's ``base_url`` (shiftctl's ``api_url``) is."""
        return self.web_url + self.prefix

    # -- test controls -----------------------------------------------------------------------
    def add_token(self, token: str, login: str, **kw: Any) -> None:
        self.tokens[token] = Grant(login, **kw)

    def quota(self, login: str) -> Quota:
        return self.quotas.setdefault(login, Quota())

    def fail(self, status: int = 403, *, retry_after: int | None = 1, method: str | None = None,
             path_contains: str | None = None, times: int = 1,
             message: str = "You have exceeded a secondary rate limit. Please wait a few "
                            "minutes before you try again.") -> Fault:
        fault = Fault(status, message, retry_after, method, path_contains, times)
        self.faults.append(fault)
        return fault

    def mark(self) -> int:
        return len(self.log)

    def since(self, mark: int) -> list[Logged]:
        return self.log[mark:]

    # -- one exchange --------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items()}
        status, payload, extra, login, checkable, path = self._serve(h.command, parts.path, query,
                                                                     headers, raw)
        body = b"" if payload is None else json.dumps(payload).encode()
        out = {"Content-Type": "application/json; charset=utf-8", **extra}
        if status == 200 and h.command == "GET":
            etag = 'W/"' + hashlib.sha1(body).hexdigest() + '"'
            out["ETag"] = etag
            if headers.get("If-None-Match") == etag:
                status, body = 304, b""
                out.pop("Content-Type")
        if login is not None:
            quota = self.quota(login)
            if status != 304:  # a conditional request answered 304 is free on GitHub
                quota.used += 1
            out.update({"X-RateLimit-Limit": str(quota.limit),
                        "X-RateLimit-Remaining": str(quota.remaining),
                        "X-RateLimit-Used": str(quota.used),
                        "X-RateLimit-Reset": str(int(quota.reset_at)),
                        "X-RateLimit-Resource": "core"})
            grant = self.tokens.get(self._token(headers) or "")
            if grant is not None and grant.scopes is not None:
                out["X-OAuth-Scopes"] = ", ".join(grant.scopes)
        with self.world.lock:
            self.log.append(Logged(h.command, parts.path, parts.query, status, login, time.time(),
                                   raw))
        if self.validate and checkable and path is not None:
            self.problems += spec.check(h.command, path, query, headers, raw,
                                        None if status == 304 else status, out, body)
        h.send_response(status)
        for k, v in out.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    @staticmethod
    def _token(headers: dict[str, str]) -> str | None:
        value = headers.get("Authorization") or headers.get("authorization") or ""
        kind, _, token = value.partition(" ")
        return token.strip() if kind.lower() in ("token", "bearer") else None

    def _serve(self, method: str, full: str, query: list[tuple[str, str]],
               headers: dict[str, str], raw: bytes
               ) -> tuple[int, Any, dict[str, str], str | None, bool, str | None]:
        """(status, json, headers, login, validate the response?, path under the API root)."""
        graphql = (self.prefix.rsplit("/", 1)[0] if self.prefix else "") + "/graphql"
        if full == graphql and method == "POST":
            path = None
        elif full.startswith(self.prefix + "/") or full == self.prefix:
            path = full[len(self.prefix):] or "/"
        else:
            return 404, error("Not Found", 404), {}, None, False, None
        grant = self.tokens.get(self._token(headers) or "")
        if grant is None:
            return 401, error("Bad credentials", 401), {}, None, path is not None, path
        login = grant.login
        for fault in self.faults:
            if fault.hits < fault.times and (fault.method in (None, method)) and \
                    (fault.path_contains is None or fault.path_contains in full):
                fault.hits += 1
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                self._check_request_only(method, path, query, headers, raw)
                return fault.status, error(fault.message, fault.status), extra, login, False, path
        quota = self.quota(login)
        if quota.reset_at <= time.time():
            quota.used, quota.reset_at = 0, time.time() + 3600
        if quota.remaining <= 0:
            self._check_request_only(method, path, query, headers, raw)
            message = f"API rate limit exceeded for user ID {self.world.uid(login)}."
            return (403, error(message, 403), {}, login, False, path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, error("Problems parsing JSON", 400), {}, login, path is not None, path
        assert self.api is not None
        call = Call(method, path or full, {}, dict(query), body, login, headers)
        try:
            if path is None:
                status, payload = routes.graphql(self.api, call)
                return status, payload, call.links, login, False, None
            found = routes.match(method, path)
            if found is None:
                self.problems.append(f"the fake does not serve {method} {path}")
                return 404, error("Not Found", 404), {}, login, False, path
            fn, params, _raw, permission = found
            if "owner" in params and (params["owner"], params["repo"]) != \
                    (self.world.owner, self.world.name):
                raise NotFound("repository")
            self._authorize(grant, permission)
            call.params = params
            status, payload = fn(self.api, call)
            return status, payload, call.links, login, True, path
        except NotFound as exc:
            return 404, error(f"Not Found: {exc}", 404), {}, login, True, path
        except Invalid as exc:
            return 422, error(str(exc), 422), {}, login, True, path
        except Forbidden as exc:  # GitHub answers any endpoint so: not per-endpoint documented
            extra = {"X-Accepted-GitHub-Permissions": exc.accepted} if exc.accepted else {}
            self._check_request_only(method, path, query, headers, raw)
            return 403, error(str(exc), 403), extra, login, False, path

    def _check_request_only(self, method: str, path: str | None, query: list[tuple[str, str]],
                            headers: dict[str, str], raw: bytes) -> None:
        if self.validate and path is not None:
            self.problems += spec.check(method, path, query, headers, raw)

    def _authorize(self, grant: Grant, permission: str | None) -> None:
        if grant.scopes is not None:
            if permission and "repo" not in grant.scopes:
                raise NotFound("repository (the token lacks the 'repo' scope)")
            return
        if permission is None:
            return
        resource, _, level = permission.partition("=")
        have = (grant.permissions or {}).get(resource, "read" if resource == "metadata" else None)
        if have is None or LEVELS[have] < LEVELS[level]:
            raise Forbidden("Resource not accessible by personal access token", permission)


def new_world(bare: Path, owner: str = "acme", name: str = "widgets") -> World:
    return World(owner, name, bare)
