"""Who may read the dashboard, and what serving it may touch: a real ``shiftctl serve``.

Loopback without a token answers only to loopback host names (no DNS rebinding); any other
bind refuses to start without a token, and with one every request must carry it. The server
never writes the state db or takes the admin lock, and a cycle never loads the web stack."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from support.project import Project
from support.serve import Served

TOKEN = "a-test-token-of-sufficient-length-42"
TOKEN_ENV = "SHIFTCTL_SERVE_TOKEN"


def serve_once(project: Project, *args: str,
               env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root), "serve",
                           "--port", "0", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_a_bind_beyond_loopback_without_a_token_refuses_to_start(project: Project) -> None:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        proc = serve_once(project, "--host", host, env=env)
        assert proc.returncode != 0
        assert f"refusing to serve on {host} without a token" in proc.stderr
        assert TOKEN_ENV in proc.stderr
    short = serve_once(project, "--host", "0.0.0.0", env={**env, TOKEN_ENV: "letmein"})
    assert short.returncode != 0 and "at least 16 characters" in short.stderr


def test_with_a_token_every_request_must_carry_it(project: Project,
                                                  serve: Callable[..., Served]) -> None:
    project.cycle()
    served = serve(project.root, "--host", "0.0.0.0", env={**os.environ, TOKEN_ENV: TOKEN})
    assert "token required" in served.output()
    for path in ("/", "/issues/1", "/events", "/memory", "/metrics", "/api/status", "/live",
                 "/static/live.js"):
        refused = served.request(path)
        assert refused.status == 401, path
        assert TOKEN not in refused.text
        wrong = served.request(path, headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert wrong.status == 401, path
    assert served.request("/api/status",
                          headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
    assert served.request("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200

    once = served.request(f"/events?issue=1&token={TOKEN}")  # a link with the token, once
    assert once.status == 303 and once.headers["location"] == "/events?issue=1"
    cookie = once.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    value = cookie.split(";", 1)[0]
    assert served.request("/events?issue=1", headers={"Cookie": value}).status == 200
    assert served.request("/", headers={"Cookie": "shiftctl_token=guess"}).status == 401
    # the webhook endpoint is not behind the token: it checks GitHub's signature instead
    assert served.request("/hooks/github", method="POST", body=b"{}").status == 401


def test_on_loopback_only_requests_addressed_to_loopback_are_answered(
        project: Project, serve: Callable[..., Served]) -> None:
    project.cycle()
    served = serve(project.root)
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}", "[::1]:80"):
        assert served.request("/", headers={"Host": host}).status == 200, host
    for host in ("evil.example", f"evil.example:{served.port}", "127.0.0.1.evil.example"):
        reply = served.request("/api/status", headers={"Host": host})
        assert reply.status == 421, host
        assert "issues" not in reply.text


def test_pages_forbid_scripts_other_than_the_servers_own(project: Project,
                                                          serve: Callable[..., Served]) -> None:
    project.cycle()
    served = serve(project.root)
    for path in ("/", "/events", "/memory", "/issues/99"):
        headers = served.request(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"


def _runtime_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under .shiftctl/ but the wake file, requests and SQLite's shared-memory
    index (every WAL reader marks what it reads there; ``shiftctl status`` does too): size
    and mtime."""
    out = {}
    for path in (root / ".shiftctl").rglob("*"):
        rel = path.relative_to(root / ".shiftctl").as_posix()
        if (path.is_file() and rel not in ("wake", "state.db-shm")
                and not rel.startswith("requests/")):
            st = path.stat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def test_serving_writes_no_state_and_never_takes_the_admin_lock(
        project: Project, serve: Callable[..., Served]) -> None:
    n = project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    project.run()
    run = project.runs(n)[0]
    served = serve(project.root)
    before = _runtime_files(project.root)
    for path in ("/", f"/issues/{n}", f"/runs/{run.id}", f"/runs/{run.id}/log", "/events",
                 "/memory", "/metrics", "/api/status", "/issues/999", "/runs/..%2F..%2Fetc"):
        assert served.request(path).status in (200, 404), path
    assert _runtime_files(project.root) == before  # not a byte, not a timestamp
    assert project.cycle().rung != "busy"  # the admin lock was free all along
    status = json.loads(served.request("/api/status").body)
    assert status["issues"][0]["state"] == "done"


def test_a_cycle_never_loads_the_web_stack(project: Project) -> None:
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from shiftctl.admin import config\n"
            "from shiftctl.admin.cycle.main import run_cycle\n"
            f"run_cycle(config.load(Path({str(project.root)!r})))\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'starlette', 'uvicorn', 'prometheus_client', 'anyio', 'h11'}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
