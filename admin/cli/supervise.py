"""Running the loop under supervisord for one target repository."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
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


def start_supervisord(config: Config, *, foreground: bool = False) -> str:
    Paths(config.root).ensure()
    conf = shared_file("supervisord.conf")
    argv = supervisord_argv(conf, foreground)
    if foreground:
        os.execvpe(argv[0], argv, supervisor_env(config))
    proc = subprocess.run(argv, env=supervisor_env(config), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SupervisorError(f"supervisord failed: {(proc.stderr or proc.stdout).strip()}")
    return (f"supervisord started for {config.root}; logs in .shiftctl/logs/; control it with "
            f"SHIFTCTL_REPO={config.root} SHIFTCTL_SOCK={socket_path(config.root)} "
            f"supervisorctl -c {conf} status")
