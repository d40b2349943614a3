"""``shiftctl serve`` as a real process, plain HTTP to it, and headless Chromium (the
distribution's package, driven by Playwright) to look at it like a person would."""
from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.assets import require

CHROMIUM = os.environ.get("SHIFTCTL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's services on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-default-apps", "--disable-dev-shm-usage"]
URL_LINE = re.compile(r"http://(\[[^\]]+\]|[^:/\s]+):(\d+)/")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Served:
    """One ``shiftctl serve`` process; ``request`` talks to it without following redirects."""
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, path: str, *, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start_serve(root: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 30) -> Served:
    """``shiftctl -C ROOT serve --port 0 ARGS``; returns once it says where it listens."""
    log = root.parent / f"serve-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shiftctl", "-C", str(root), "serve",
                                 "--port", "0", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env if env is not None else dict(os.environ))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = URL_LINE.search(log.read_text(errors="replace"))
        if found:
            return Served(proc, found.group(1), int(found.group(2)), log)
        if proc.poll() is not None:
            raise AssertionError(f"shiftctl serve exited {proc.returncode}:\n"
                                 f"{log.read_text(errors='replace')}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"shiftctl serve did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start ``shiftctl serve`` for a repository; every one started is stopped afterwards."""
    started: list[Served] = []

    def start(root: Path, *args: str, env: dict[str, str] | None = None) -> Served:
        started.append(start_serve(root, *args, env=env))
        return started[-1]

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium from the distribution (``scripts/test.sh`` installs it; never a
    Playwright browser download). Skips with the reason where it is missing, fails under
    ``SHIFTCTL_REQUIRE_BROWSER=1``."""
    require("browser", Path(CHROMIUM).exists(),
            f"no Chromium at {CHROMIUM} (scripts/test.sh installs Debian's chromium)")
    require("browser", importlib.util.find_spec("playwright") is not None,
            "playwright is not installed (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
