"""The agent's sandbox: ``sandbox: auto | bwrap | none``.

Under bubblewrap the agent (and the checks, which run its code) see a read-only system, a
writable worktree, a private ``/tmp`` and a private, writable HOME of their own. Places that
hold secrets are empty: the user's HOME, ``/root``, ``/home``, ``/run/user`` (agent and
keyring sockets) and the admin's runtime directory (``state.db``, ``tracker.db``, other
runs); a few secret files (``/etc/shadow``, SSH host keys, container-engine sockets) read as
empty. What an agent needs to *run* that lies in those places (its CLI's install directory,
the directories on PATH, shiftctl's own Python, paths the config names) is shown again,
read-only. The agent gets its own pid, IPC and UTS namespaces and a fresh ``/proc``, so no
other process's ``/proc/<pid>/environ`` is in reach, and no capabilities: a root-started
agent runs as an unprivileged user inside, so it cannot remount or unmount anything. The
network is shared: agents need their model API.

``auto`` is resolved by the admin (bwrap where :func:`probe` says it runs, else none, with the
reason); the worker only ever sees ``bwrap`` or ``none`` and never runs a ``bwrap`` profile
unsandboxed.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shiftctl.system.kinds import SANDBOX_KINDS

BWRAP = "bwrap"
INSTALL_HINT = "Debian/Ubuntu: apt-get install bubblewrap"
# Who a root-started agent is inside: not root (no remounting its way out), and not uid 0,
# which Codex's own nested bwrap could not map without CAP_SETFCAP.
UNPRIVILEGED_ID = "65534"
ISOLATION = ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--cap-drop", "ALL", "--die-with-parent", "--new-session")
SECRET_DIRS = ("/root", "/home", "/run/user")
SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_*_key",
                "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
                "/run/podman/podman.sock", "/run/snapd.socket")
# Never shown again, whatever PATH or the config say.
SECRET_NAMES = frozenset({".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker",
                          ".password-store", "keyrings", ".shiftctl"})


def identity(euid: int) -> list[str]:
    return ["--uid", UNPRIVILEGED_ID, "--gid", UNPRIVILEGED_ID] if euid == 0 else []


@lru_cache(maxsize=1)
def probe() -> str | None:
    """None when bwrap runs here with the isolation the agents get, else why not."""
    exe = shutil.which(BWRAP)
    if exe is None:
        return f"bubblewrap (bwrap) is not installed ({INSTALL_HINT})"
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               *ISOLATION, *identity(os.geteuid()), "true"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot run: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot run here: {(proc.stderr or proc.stdout).strip()[:300]}"
    return None


@dataclass(frozen=True)
class InForce:
    """The sandbox a profile's agents get, and why; ``error`` when it is required but
    cannot run (the profile then refuses to start)."""
    kind: str
    reason: str
    configured: str
    error: str | None = None

    def describe(self) -> str:
        return f"{self.kind} ({self.reason})"


def decide(configured: str, why_not: str | None) -> InForce:
    """What ``configured`` means where bwrap works (``why_not`` None) or not. Pure."""
    if configured == "none":
        return InForce("none", "set explicitly: agents run unsandboxed", configured)
    if configured == "auto":
        if why_not is None:
            return InForce("bwrap", "auto: bubblewrap works here", configured)
        return InForce("none", f"auto: agents run unsandboxed because {why_not}", configured)
    if configured == "bwrap":
        if why_not is None:
            return InForce("bwrap", "bubblewrap works here", configured)
        return InForce("bwrap", f"required, but {why_not}", configured,
                       error=f"requires sandbox bwrap, but {why_not}")
    raise SandboxError(f"unknown sandbox {configured!r} "
                       f"(expected one of {', '.join(SANDBOX_KINDS)})")


def in_force(configured: str) -> InForce:
    return decide(configured, probe() if configured in ("auto", "bwrap") else None)


# -- what the sandbox shows ---------------------------------------------------------------
def _norm(path: Path | str) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _within(path: Path, place: Path) -> bool:
    return path == place or place in path.parents


def hidden_places(home: str | None, extra: Iterable[Path | str] = ()) -> list[Path]:
    """Directories shown empty: HOME (the variable's and the account's), /root, /home,
    /run/user and ``extra``; outermost first, those inside another or under /tmp (private
    already) left out."""
    candidates = [*([home] if home else []), *SECRET_DIRS, *extra]
    try:
        candidates.append(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        pass
    found = sorted({_norm(p) for p in candidates if p and os.path.isdir(p)},
                   key=lambda p: (len(p.parts), str(p)))
    out: list[Path] = []
    for p in found:
        if p == Path("/") or _within(p, Path("/tmp")) or any(_within(p, q) for q in out):
            continue
        out.append(p)
    return out


def secret_files() -> list[Path]:
    """Existing files that read as empty inside (``/dev/null`` bound over them)."""
    found = {_norm(p) for pattern in SECRET_FILES for p in glob.glob(pattern)}
    return sorted(p for p in found if p.exists() and not p.is_dir())


def _which(name: str, path_env: str) -> Path | None:
    found = shutil.which(name, path=path_env) if os.sep not in name else name
    return Path(found) if found and os.path.exists(found) else None


def install_root(path: Path) -> Path:
    """The directory a program needs to run from: its outermost ``node_modules`` (npm
    packages and their optional native siblings), its venv or prefix when it sits in a
    ``bin`` directory, else its own directory."""
    parents = list(path.parents)
    modules = [p for p in parents if p.name == "node_modules"]
    if modules:
        return modules[-1]
    if path.parent.name == "bin" and ((path.parent.parent / "pyvenv.cfg").exists()
                                      or (path.parent.parent / "lib").is_dir()):
        return path.parent.parent
    return path.parent


def _interpreter(path: Path, path_env: str) -> Path | None:
    """A script's ``#!`` interpreter (``/usr/bin/env NAME`` looked up on PATH)."""
    try:
        with open(path, "rb") as f:
            first = f.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words:
        return None
    if Path(words[0]).name == "env":
        names = [w for w in words[1:] if not w.startswith("-")]
        return _which(names[0], path_env) if names else None
    return Path(words[0])


def tool_paths(program: str, path_env: str) -> list[Path]:
    """What running ``program`` needs: where PATH finds it, its real file's install root
    and those of its script interpreter (the symlink's own directory for npm's and pipx's
    ``bin`` links)."""
    found = _which(program, path_env)
    if found is None:
        return []
    out: list[Path] = []
    for exe in (found, _interpreter(_norm(found), path_env)):
        if exe is None:
            continue
        link = Path(os.path.abspath(exe))
        real = _norm(exe)
        out.append(link.parent)
        if (link.parent.parent / "pyvenv.cfg").exists():
            out.append(link.parent.parent)
        out.append(install_root(real))
    return out


def own_python() -> list[Path]:
    """shiftctl's own interpreter and environment: checks often run ``python``."""
    return [_norm(sys.prefix), _norm(sys.base_prefix)]


def safe_exposures(paths: Iterable[Path | str], hidden: Sequence[Path],
                   protected: Sequence[Path]) -> list[Path]:
    """The paths worth showing again: inside a hidden place (or /tmp); never one that is or
    contains a hidden or ``protected`` place (the admin's runtime directory), nothing inside
    a protected place and nothing under a secret-bearing name such as ``.ssh``."""
    out: set[Path] = set()
    places = [*hidden, Path("/tmp")]
    for raw in paths:
        p = _norm(raw)
        if not p.exists() or not any(_within(p, h) for h in places):
            continue
        if any(_within(h, p) for h in (*places, *protected)):
            continue
        if any(_within(p, q) for q in protected) or SECRET_NAMES & set(p.parts):
            continue
        out.add(p)
    return sorted(out, key=lambda p: (len(p.parts), str(p)))


@dataclass(frozen=True)
class Box:
    """One run's bubblewrap sandbox: argv for the agent and for the checks."""
    worktree: Path
    home: Path
    read_only: Sequence[Path] = ()       # shown again read-only (the main .git, the run dir)
    hidden: Sequence[Path] = ()          # shown empty
    secret_files: Sequence[Path] = ()    # read as empty
    expose: Sequence[Path] = ()          # shown read-only inside hidden places (configured)
    protected: Sequence[Path] = ()       # never shown again (the admin's runtime directory)
    sealed: Sequence[Path] = ()          # never writable, whoever asks (the shared git dir)
    path_env: str = os.defpath
    euid: int = field(default_factory=os.geteuid)

    def env(self) -> dict[str, str]:
        """The variables set inside: a private HOME and XDG directories in it."""
        h = str(self.home)
        return {"HOME": h, "TMPDIR": "/tmp", "XDG_CONFIG_HOME": f"{h}/.config",
                "XDG_CACHE_HOME": f"{h}/.cache", "XDG_DATA_HOME": f"{h}/.local/share",
                "XDG_STATE_HOME": f"{h}/.local/state"}

    def argv(self, argv: Sequence[str], writable: Sequence[Path] = ()) -> list[str]:
        """Mount order matters: each mount covers what an earlier one put at its path, so
        the empty places come first and the worktree last."""
        out = [BWRAP, "--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev",
               "--proc", "/proc"]
        for place in self.hidden:
            out += ["--tmpfs", str(place)]
        for secret in self.secret_files:
            out += ["--ro-bind", "/dev/null", str(secret)]
        tools = [*self.expose, *(tool_paths(argv[0], self.path_env) if argv else [])]
        for path in safe_exposures(tools, self.hidden, self.protected):
            out += ["--ro-bind", str(path), str(path)]
        for path in self.read_only:
            if path.exists():
                out += ["--ro-bind", str(_norm(path)), str(_norm(path))]
        for path in (*writable, self.home, self.worktree):
            if any(_within(_norm(path), _norm(s)) or _within(_norm(s), _norm(path))
                   for s in self.sealed):
                raise SandboxError(f"refusing to let the agent write {path}: it is or holds "
                                   "the repository's git dir, which no agent may write")
            out += ["--bind", str(_norm(path)), str(_norm(path))]
        # the worktree's own .git file, read-only on top of it: an agent that could replace it
        # would choose the git dir (hooks, fsmonitor) of whoever runs git there next
        dot_git = _norm(self.worktree) / ".git"
        if dot_git.is_file() and not dot_git.is_symlink():
            out += ["--ro-bind", str(dot_git), str(dot_git)]
        for key, value in self.env().items():
            out += ["--setenv", key, value]
        out += ["--unsetenv", "XDG_RUNTIME_DIR", *ISOLATION, *identity(self.euid),
                "--chdir", str(_norm(self.worktree)), "--", *argv]
        return out


Wrap = Callable[..., list[str]]


def unwrapped(argv: Sequence[str], writable: Sequence[Path] = ()) -> list[str]:
    return list(argv)


def make_box(worktree: Path, home: Path, env: Mapping[str, str], *,
             read_only: Sequence[Path] = (), hide: Sequence[Path | str] = (),
             expose: Sequence[Path | str] = (), sealed: Sequence[Path] = ()) -> Box:
    """The sandbox for one run, from the agent's environment (HOME, PATH) and the admin's
    policy (``hide``: its runtime directory; ``expose``: ``sandbox_expose``; ``sealed``:
    what must stay read-only even if asked for, the repository's git dir)."""
    path_env = env.get("PATH", os.defpath)
    hidden = hidden_places(env.get("HOME"), hide)
    protected = [_norm(p) for p in hide]
    path_dirs = [d for d in path_env.split(os.pathsep) if os.path.isabs(d)]
    return Box(worktree=worktree, home=home, read_only=tuple(read_only), hidden=tuple(hidden),
               secret_files=tuple(secret_files()),
               expose=tuple(safe_exposures([*expose, *path_dirs, *own_python()], hidden,
                                           protected)),
               protected=tuple(protected), sealed=tuple(sealed), path_env=path_env)


def wrapper(kind: str, box: Callable[[], Box]) -> Wrap:
    """The argv transform for a resolved sandbox kind; raises ``SandboxError`` rather than
    run a sandboxed profile bare. ``box`` builds the sandbox (only called for bwrap)."""
    if kind == "none":
        return unwrapped
    if kind == "auto":
        raise SandboxError("sandbox 'auto' reached the worker unresolved (the admin resolves "
                           "it to bwrap or none); refusing to guess")
    if kind != "bwrap":
        raise SandboxError(f"unknown sandbox {kind!r} (expected bwrap or none)")
    why = probe()
    if why:
        raise SandboxError(f"sandbox bwrap is required by this profile but {why}; "
                           "refusing to run the agent unsandboxed")
    return box().argv


class SandboxError(RuntimeError):
    pass
