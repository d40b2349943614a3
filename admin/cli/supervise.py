"""Running the loop under supervisord for one target repository: ``supervise
start|stop|status|restart``, the control socket found from the repository (``socket_path``),
so nobody pastes a ``supervisorctl -c ... shutdown`` line."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths


class SupervisorError(Exception):
    pass


def shared_file(name: str) -> Path:
    """A file shipped next to the packages: the source checkout first, then the install."""
    here = Path(__file__).resolve().parents[2] / name  # admin/cli/ -> the checkout
    if here.exists():
        return here
    installed = Path(sys.prefix) / "share" / "shiftctl" / name
    if installed.exists():
        return installed
    raise FileNotFoundError(f"{name} is not installed (looked in {here.parent} and "
                            f"{installed.parent})")


def cli_command() -> str:
    """How the loop script should call this very shiftctl."""
    return f"{sys.executable} -m shiftctl"


def supervisord_argv(conf: Path, foreground: bool) -> list[str]:
    exe = shutil.which("supervisord")
    argv = [exe] if exe else [sys.executable, "-m", "supervisor.supervisord"]
    argv += ["-c", str(conf)]
    if foreground:
        argv.append("-n")
    return argv


def supervisorctl_argv() -> list[str]:
    exe = shutil.which("supervisorctl")
    argv = [exe] if exe else [sys.executable, "-m", "supervisor.supervisorctl"]
    return argv + ["-c", str(shared_file("supervisord.conf"))]


def socket_path(root: Path) -> str:
    """A control socket path short enough for AF_UNIX, unique per repository."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return str(Path(tempfile.gettempdir()) / f"shiftctl-{digest}.sock")


def supervisor_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    env["SHIFTCTL_REPO"] = str(config.root)
    env["SHIFTCTL_SOCK"] = socket_path(config.root)
    env["SHIFTCTL"] = cli_command()
    return env


def supervisord_pid(config: Config) -> int | None:
    """The pid of this repository's supervisord, if it runs (its pidfile names a live one)."""
    from shiftctl.system.proc import process_alive
    try:
        text = (Paths(config.root).runtime / "supervisord.pid").read_text().strip()
    except OSError:
        return None
    pid = int(text) if text.isdigit() else 0
    return pid if process_alive(pid, None) else None


def ctl(config: Config, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """supervisorctl on this repository's socket."""
    return subprocess.run([*supervisorctl_argv(), *args], env=supervisor_env(config),
                          capture_output=True, text=True, timeout=timeout)


def status(config: Config) -> tuple[bool, str]:
    """(running, what to say): supervisord's pid and the loop's state as it reports it."""
    pid = supervisord_pid(config)
    if pid is None:
        return False, f"supervisord is not running for {config.root} (shiftctl supervise start)"
    proc = ctl(config, "status")
    loop = (proc.stdout or proc.stderr).strip() or "no answer on its control socket"
    return True, f"supervisord running (pid {pid}) for {config.root}\n{loop}"


def stop(config: Config, wait: float = 60) -> str:
    """Shut supervisord (and the loop) down and wait until it is gone; workers keep running
    (they live in sessions of their own) and the next loop collects them."""
    pid = supervisord_pid(config)
    if pid is None:
        return f"supervisord is not running for {config.root}; nothing to stop"
    from shiftctl.system.proc import process_alive
    proc = ctl(config, "shutdown")
    deadline = time.monotonic() + wait
    while process_alive(pid, None) and time.monotonic() < deadline:  # the process, not its
        time.sleep(0.2)                                               # pidfile, gone first
    if process_alive(pid, None):
        raise SupervisorError(f"supervisord (pid {pid}) did not stop within {wait:g}s "
                              f"({(proc.stdout or proc.stderr).strip()}); kill {pid} ends it")
    return f"supervisord (pid {pid}) stopped; running workers go on and are collected later"


def start_supervisord(config: Config, *, foreground: bool = False) -> str:
    running = supervisord_pid(config)
    if running is not None:
        raise SupervisorError(f"supervisord is already running for {config.root} (pid "
                              f"{running}); shiftctl supervise status|stop|restart")
    Paths(config.root).ensure()
    conf = shared_file("supervisord.conf")
    argv = supervisord_argv(conf, foreground)
    if foreground:
        os.execvpe(argv[0], argv, supervisor_env(config))
    proc = subprocess.run(argv, env=supervisor_env(config), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SupervisorError(f"supervisord failed: {(proc.stderr or proc.stdout).strip()}")
    deadline = time.monotonic() + 10  # it daemonizes: the pidfile comes a moment later
    while supervisord_pid(config) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return (f"supervisord started for {config.root}; logs in .shiftctl/logs/; "
            "shiftctl supervise status|stop|restart controls it")
