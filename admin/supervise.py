"""Running the loop under supervisord for one target repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from admin.config import Config
from admin.paths import Paths


def shared_file(name: str) -> Path:
    """A file shipped next to the packages: the source checkout first, then the install."""
    here = Path(__file__).resolve().parent.parent / name
    if here.exists():
        return here
    installed = Path(sys.prefix) / "share" / "shiftctl" / name
    if installed.exists():
        return installed
    raise FileNotFoundError(f"{name} is not installed (looked in {here.parent} and "
                            f"{installed.parent})")


def cli_command() -> str:
    """How the loop script should call this very shiftctl (``-P``: the repo is the cwd)."""
    return f"{sys.executable} -P -m admin.cli"


def supervisord_argv(conf: Path, foreground: bool) -> list[str]:
    exe = shutil.which("supervisord")
    argv = [exe] if exe else [sys.executable, "-m", "supervisor.supervisord"]
    argv += ["-c", str(conf)]
    if foreground:
        argv.append("-n")
    return argv


def supervisor_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    env["SHIFTCTL_REPO"] = str(config.root)
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
        raise RuntimeError(f"supervisord failed: {proc.stderr or proc.stdout}")
    return (f"supervisord started for {config.root}; logs in .shiftctl/logs/, control with "
            f"supervisorctl -c {conf} (with SHIFTCTL_REPO={config.root})")
