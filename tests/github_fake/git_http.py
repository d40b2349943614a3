"""The fake GitHub's git endpoint: ``git http-backend`` behind token checks, like github.com.

Pushing needs a token whose grant allows writing contents, sent the way GitHub accepts it
(``Authorization: Basic base64(x-access-token:TOKEN)``); anything else is a 401 or 403. It
lets a test see that the token reaches git, and only git.
"""
from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from github_fake.server import FakeGitHub
from support import loopback


@dataclass
class GitCall:
    method: str
    path: str
    login: str | None
    status: int


class GitHttp:
    def __init__(self, fake: FakeGitHub, project_root: Path) -> None:
        self.fake = fake
        self.project_root = project_root
        self.calls: list[GitCall] = []
        self._httpd: ThreadingHTTPServer | None = None

    def url(self, repo: str) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{repo}"

    def start(self) -> GitHttp:
        self._httpd = loopback.start(self._handle)
        return self

    def stop(self) -> None:
        loopback.stop(self._httpd)

    def _login(self, header: str, write: bool) -> tuple[str | None, int]:
        kind, _, value = header.partition(" ")
        if kind.lower() != "basic":
            return None, 401
        user, _, token = base64.b64decode(value).decode().partition(":")
        grant = self.fake.tokens.get(token)
        if grant is None or user != "x-access-token":
            return None, 401
        if not write:
            return grant.login, 200
        if grant.permissions is not None:
            ok = grant.permissions.get("contents") == "write"
        else:
            ok = "repo" in (grant.scopes or ())
        ok = ok and self.fake.world.role(grant.login) in ("write", "maintain", "admin")
        return grant.login, 200 if ok else 403

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        write = "git-receive-pack" in parts.path or "service=git-receive-pack" in parts.query
        login, status = self._login(h.headers.get("Authorization", ""), write)
        if status != 200:
            self.calls.append(GitCall(h.command, parts.path, login, status))
            h.send_response(status)
            if status == 401:
                h.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "GIT_PROJECT_ROOT": str(self.project_root),
               "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": h.command,
               "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
               "CONTENT_TYPE": h.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": login or "",
               "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(self.project_root)}
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        code, headers = 200, []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                code = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.calls.append(GitCall(h.command, parts.path, login, code))
        h.send_response(code)
        for key, value in headers:
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
