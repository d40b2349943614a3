"""A real Redis (Debian's redis-server) per test session, and ``shiftctl worker-host``
processes that cannot see the admin's repository: each runs under bwrap with the admin's
project and HOME masked by empty tmpfs mounts, with a HOME and work directory of its own.

bwrap rather than another user: the tests run as root, and root reads a 0700 directory
anyway; a mount namespace hides the path from root too (``hidden_from_hosts`` proves it).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.assets import require
from support.project import Project
from support.repos import wait_for
from support.sandbox import require_bwrap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """redis-server on 127.0.0.1:port, its data (append-only file on) in ``dir``."""
    dir: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):  # type: ignore[no-untyped-def]
        import redis
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            try:
                return bool(self.client().ping())
            except Exception:
                return False
        wait_for(up, timeout=20, what="redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    require("redis", shutil.which("redis-server") is not None,
            "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty Redis, its URL in $SHIFTCTL_REDIS_URL (where the admin and hosts read it)."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.client().flushall()
    monkeypatch.setenv("SHIFTCTL_REDIS_URL", redis_server.url)
    return redis_server.url


@dataclass
class Host:
    name: str
    home: Path
    work: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def kill9(self) -> None:
        """The machine dies: every process of this host, at once (the host runs in its own
        PID namespace, which ends with bwrap)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


class Hosts:
    """Worker hosts for ``project``, each masked from the admin's files."""

    def __init__(self, project: Project, base: Path, url: str) -> None:
        self.project, self.base, self.url = project, base, url
        self.all: list[Host] = []

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` as a host runs it: the admin's project and HOME replaced by empty dirs."""
        admin_home = Path(os.environ["HOME"])
        return ["bwrap", "--dev-bind", "/", "/", "--tmpfs", str(self.project.root),
                "--tmpfs", str(admin_home), "--unshare-pid", "--proc", "/proc",
                "--die-with-parent", "--", *argv]

    def env(self, home: Path) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if k in ("PATH", "LANG", "PYTHONPATH", "SHIFTCTL_AGENT_BIN")}
        return {**keep, "HOME": str(home), "SHIFTCTL_REDIS_URL": self.url,
                "GIT_CONFIG_NOSYSTEM": "1"}

    def start(self, name: str, queue: str = "shiftctl") -> Host:
        home, work = self.base / name / "home", self.base / name / "work"
        home.mkdir(parents=True)
        (home / ".gitconfig").write_text("[user]\n\tname = Host\n\temail = host@test.invalid\n")
        key = home / ".config" / "shiftctl" / "host.key"
        reg = subprocess.run([sys.executable, "-m", "shiftctl.worker.host", "--register",
                              "--name", name, "--key", str(key)], env=self.env(home),
                             capture_output=True, text=True, check=True)
        host_name, public = reg.stdout.split()
        self.project.cli("hosts", "add", host_name, public)
        log = self.base / name / "host.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                self.wrap([sys.executable, "-m", "shiftctl.worker.host", "--queue", queue,
                           "--name", name, "--key", str(key), "--workdir", str(work)]),
                env=self.env(home), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        host = Host(name, home, work, proc, log)
        self.all.append(host)
        return host

    def stop_all(self) -> None:
        for host in self.all:
            if host.proc.poll() is None:
                host.kill9()


@pytest.fixture
def rq_hosts(project: Project, redis_url: str, tmp_path: Path) -> Iterator[Hosts]:
    """The project on the rq launcher, and a way to start hosts for it."""
    require_bwrap()
    project.configure(workers={"launcher": {"kind": "rq", "queue": "shiftctl"}})
    hosts = Hosts(project, tmp_path / "hosts", redis_url)
    yield hosts
    from support.project import end_workers
    end_workers(project)
    hosts.stop_all()


def agents_on(host: Host) -> list[int]:
    """Pids (as this machine sees them) of scripted agents working in ``host``'s directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"scripted.py") for a in argv) and \
                any(str(host.work).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


class LocalKube:
    """Kubernetes' part, played on this machine: ``create_job`` runs the rendered pod's own
    command and arguments (its Secret's two files materialised, its emptyDirs as temporary
    directories) under the hosts' wrapper, so the pod cannot see the admin's files either.
    The launcher, the manifest and the pod program are the real ones."""

    def __init__(self, hosts: Hosts, key: Path) -> None:
        self.hosts, self.key = hosts, key
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def __call__(self, _settings: object) -> LocalKube:  # stands in for KubeApi(settings)
        return self

    def create_job(self, manifest: dict) -> None:
        from shiftctl.admin.launchers.kubernetes import SECRET_DIR
        self.created.append(manifest)
        pod = self.hosts.base / manifest["metadata"]["name"]
        secret, work, home = pod / "secret", pod / "work", pod / "home"
        for d in (secret, work, home):
            d.mkdir(parents=True)
        (secret / "redis-url").write_text(self.hosts.url)
        (secret / "host-key").write_bytes(self.key.read_bytes())
        [container] = manifest["spec"]["template"]["spec"]["containers"]
        argv = [a.replace(SECRET_DIR, str(secret)).replace("/work", str(work))
                for a in container["command"] + container["args"]]
        argv[0] = sys.executable if argv[0] == "python" else argv[0]
        env = {k: v for k, v in self.hosts.env(home).items() if k != "SHIFTCTL_REDIS_URL"}
        with open(pod / "pod.log", "ab") as out:
            self.procs.append(subprocess.Popen(self.hosts.wrap(argv), env=env, stdout=out,
                                               stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def delete_job(self, name: str) -> None:
        self.deleted.append(name)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
