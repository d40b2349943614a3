"""Real recorded GitHub responses: ``@octokit/fixtures-server`` behind a normalising proxy.

fixtures-server replays responses recorded from api.github.com (nock), matching each
request on method, path, JSON body and a few headers exactly as octokit sent them. PyGithub
words some of those differently (``Accept``, ``Content-Type`` with charset, JSON spacing and
so ``Content-Length``); the proxy rewrites only those, so what must match still must:
the method, the path and query, and the JSON body's content.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from github_fake.spec import ROOT
from support import loopback

SERVER_JS = ROOT / ".cache/node/github/node_modules/@octokit/fixtures-server/bin/server.js"
FIXTURE_TOKEN = "0000000000000000000000000000000000000001"
OCTOKIT_ACCEPT = "application/vnd.github.v3+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorded:
    def __init__(self) -> None:
        self.node: subprocess.Popen[bytes] | None = None
        self.proxy: ThreadingHTTPServer | None = None
        self.upstream = ""

    @property
    def url(self) -> str:
        assert self.proxy is not None
        return f"http://127.0.0.1:{self.proxy.server_address[1]}"

    def start(self) -> Recorded:
        if not SERVER_JS.exists():
            raise RuntimeError(f"{SERVER_JS} is missing: run ./scripts/test.sh once")
        self.proxy = loopback.start(self._forward)
        port = _free_port()
        self.upstream = f"http://127.0.0.1:{port}"
        self.node = subprocess.Popen(
            ["node", str(SERVER_JS), "--port", str(port), "--fixtures-url", self.url,
             "--log-level", "error"], cwd=SERVER_JS.parents[3],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.upstream}/ping", timeout=1).read()
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("fixtures-server did not start")

    def stop(self) -> None:
        if self.node is not None:
            self.node.terminate()
            self.node.wait(timeout=10)
        loopback.stop(self.proxy)

    def load(self, scenario: str) -> str:
        """Arm a scenario; returns the base URL that plays api.github.com for it."""
        req = urllib.request.Request(f"{self.url}/fixtures", method="POST",
                                     data=json.dumps({"scenario": scenario}).encode(),
                                     headers={"Content-Type": "application/json"})
        return str(json.load(urllib.request.urlopen(req))["url"])

    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "content-length", "accept", "content-type",
                                        "accept-encoding", "connection")}
        headers["Accept"] = OCTOKIT_ACCEPT
        if body:
            body = json.dumps(json.loads(body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        req = urllib.request.Request(self.upstream + h.path, data=body or None,
                                     method=h.command, headers=headers)
        try:
            resp = urllib.request.urlopen(req)
            status, out, rheaders = resp.status, resp.read(), resp.headers.items()
        except urllib.error.HTTPError as exc:
            status, out, rheaders = exc.code, exc.read(), exc.headers.items()
        h.send_response(status)
        for k, v in rheaders:
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(out)))
        h.end_headers()
        h.wfile.write(out)
