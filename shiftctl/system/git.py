"""Every ``git`` command shiftctl runs, in the admin and in the worker: one hardened helper.

Agents are untrusted, and an unsandboxed one can write the repository's shared git dir (hooks,
``config``, ``info/attributes``) and every config file git reads (``~/.gitconfig`` too). git
runs programs named there: hooks, ``core.fsmonitor`` on any index refresh, filter drivers on
add/checkout/status, textconv and external diff drivers, merge drivers, ssh and credential
helpers, pagers, editors, gpg. So no git command of ours runs with what an agent could set:

- the environment is built from an allowlist (never a token or an API key; a push gets the
  few network variables it needs and its one auth header through ``GIT_CONFIG_*``);
- ``core.hooksPath=/dev/null``: no hook can exist below a character device, not even for root
  (an "empty directory shiftctl owns" can be filled by anyone running as its owner);
- ``core.fsmonitor=false`` and fixed overrides for every single-named program-running key;
- the named drivers (``filter.<x>``, ``diff.<x>``, ``merge.<x>``, ``credential.<url>``,
  ``gpg.<fmt>``, ``pager.<cmd>``, ``remote.<x>.uploadpack``) are discovered in the config git
  is about to read, every scope and include, and neutralised; the discovery is cached per git
  dir and keyed on the stat of every file it came from;
- ``diff``/``log``/``show`` get ``--no-textconv --no-ext-diff``;
- transports are off (``GIT_ALLOW_PROTOCOL`` beats any ``protocol.*.allow``) except on a push,
  which may use the one protocol of its remote's URL, never ``ext::``: no lazy fetch;
- replace refs, trace2 targets (which can log config values) and terminal prompts are off;
- the git dir and work tree are given explicitly (``GIT_DIR``/``GIT_WORK_TREE``), so neither
  ``core.worktree`` nor a worktree's (agent-writable) ``.git`` file decides where git works:
  pass a ``Tree`` for a linked worktree (``find_worktree``/``add_worktree`` give one).

The system and global config stay in effect for everything harmless (``safe.directory``,
``core.autocrlf``, ...): only what can run a program is overridden, whatever scope set it.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shiftctl.system.fs import check_unlinked
from shiftctl.system.gitpolicy import (
    ENV_ALLOWLIST,
    FIXED_ENV,
    FIXED_OVERRIDES,
    LAST_OVERRIDES,
    NETWORK_ALLOWLIST,
    PUSH_PROTOCOLS,
    hardened_args,
    include_targets,
    neutralise,
    parse_config_list,
)

IDENTITY = ("-c", "user.name=shiftctl", "-c", "user.email=shiftctl@localhost")

class GitError(Exception):
    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        self.args_ = args
        self.code = code
        self.stderr = stderr.strip()
        super().__init__(f"git {' '.join(args)} failed ({code}): {self.stderr[-2000:]}")


@dataclass(frozen=True)
class Tree:
    """A work tree and the git dir shiftctl knows it by, given to git explicitly: the
    worktree's own ``.git`` file (which its agent can rewrite) is never read."""
    work_tree: Path
    git_dir: Path


Where = Path | str | Tree


# -- the environment and the command line --------------------------------------------------
def _env(protocol: str = "", source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowlisted environment; ``protocol`` (a push's) adds the network variables and
    allows that one transport."""
    if protocol and protocol not in PUSH_PROTOCOLS:
        raise ValueError(f"git transport {protocol!r} is not allowed (only {PUSH_PROTOCOLS})")
    src = os.environ if source is None else source
    names = ENV_ALLOWLIST + (NETWORK_ALLOWLIST if protocol else ())
    env = {name: src[name] for name in names if name in src}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(FIXED_ENV)
    env["GIT_ALLOW_PROTOCOL"] = protocol
    return env


def _add_config(env: dict[str, str], settings: Iterable[tuple[str, str]]) -> dict[str, str]:
    n = int(env.get("GIT_CONFIG_COUNT") or 0)
    for key, value in settings:
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
        n += 1
    env["GIT_CONFIG_COUNT"] = str(n)
    return env


def config_env(settings: dict[str, str], base: dict[str, str] | None = None) -> dict[str, str]:
    """git's environment plus config given through ``GIT_CONFIG_COUNT`` (git 2.31+): for
    settings that must appear neither in argv (visible in /proc) nor in a config file. Give
    it to ``run(env=...)``: only its ``GIT_CONFIG_*`` entries are kept there."""
    return _add_config(_env() if base is None else dict(base), settings.items())


def _located(where: Where) -> tuple[Path, dict[str, str]]:
    """(cwd, GIT_DIR/GIT_WORK_TREE) for a command run at ``where``.

    A ``Tree`` is explicit. A directory whose ``.git`` is a real directory is a main work
    tree: both are pinned. One whose ``.git`` is a file (a worktree shiftctl did not make,
    a submodule) gets its work tree pinned; ``core.worktree`` never moves it elsewhere.
    """
    if isinstance(where, Tree):
        return where.work_tree, {"GIT_DIR": str(where.git_dir),
                                 "GIT_WORK_TREE": str(where.work_tree)}
    cwd = Path(where)
    dot = cwd / ".git"
    if os.path.isdir(dot) and not os.path.islink(dot):
        return cwd, {"GIT_DIR": str(dot.absolute()), "GIT_WORK_TREE": str(cwd.absolute())}
    if os.path.isfile(dot) and not os.path.islink(dot):
        return cwd, {"GIT_WORK_TREE": str(cwd.absolute())}
    return cwd, {}


def _stat_key(path: Path) -> tuple[str, tuple[int, int, int, int] | None]:
    try:
        st = os.stat(path)
    except OSError:
        return str(path), None
    return str(path), (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class _Known:
    files: tuple[Path, ...]
    stats: tuple[object, ...]
    overrides: list[tuple[str, str]]


class _Discovery:
    """The named program-running keys in effect for one git dir, cached on the stat of every
    file they could come from (the config files of every scope, the files their includes
    name, existing or not, and HEAD for ``onbranch:``): an idle admin cycle pays one
    ``git config --list``."""

    def __init__(self) -> None:
        self._cache: dict[str, _Known] = {}

    @staticmethod
    def _fixed_files(env: Mapping[str, str], git_dir: Path) -> list[Path]:
        home = env.get("HOME", "")
        files = []
        if env.get("GIT_CONFIG_NOSYSTEM") not in ("1", "true", "yes"):
            files.append(Path(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
        if env.get("GIT_CONFIG_GLOBAL"):
            files.append(Path(env["GIT_CONFIG_GLOBAL"]))
        else:
            xdg = env.get("XDG_CONFIG_HOME") or f"{home}/.config"
            files += [Path(home) / ".gitconfig", Path(xdg) / "git" / "config"]
        common = git_dir
        try:
            common = git_dir / (git_dir / "commondir").read_text().strip()
        except OSError:
            pass
        return files + [git_dir / "commondir", git_dir / "HEAD", git_dir / "config.worktree",
                        common / "config", common / "config.worktree"]

    def overrides(self, cwd: Path, env: dict[str, str],
                  pins: Mapping[str, str]) -> list[tuple[str, str]]:
        if "GIT_DIR" not in pins:
            return self._discover(cwd, env)[0]
        key = pins["GIT_DIR"]
        known = self._cache.get(key)
        if known is not None and tuple(_stat_key(f) for f in known.files) == known.stats:
            return known.overrides
        files = self._fixed_files(env, Path(key))
        stats = tuple(_stat_key(f) for f in files)  # before reading: a change since re-reads
        found, includes = self._discover(cwd, env)
        self._cache[key] = _Known((*files, *includes),
                                  (*stats, *(_stat_key(f) for f in includes)), found)
        return found

    @staticmethod
    def _discover(cwd: Path, env: dict[str, str]) -> tuple[list[tuple[str, str]], list[Path]]:
        proc = subprocess.run(["git", "config", "--list", "-z", "--show-scope", "--show-origin"],
                              cwd=str(cwd), capture_output=True, text=True, timeout=60,
                              env=env, errors="replace")
        if proc.returncode != 0:  # not a repository (yet): nothing of a repo's config applies
            return [], []
        entries = [e for e in parse_config_list(proc.stdout) if e.scope != "command"]
        return (neutralise(e.key for e in entries),
                include_targets(entries, cwd, env.get("HOME", "")))


_discovery = _Discovery()


def command(where: Where, *args: str, env: Mapping[str, str] | None = None,
            protocol: str = "") -> tuple[list[str], Path, dict[str, str]]:
    """(argv, cwd, environment) of a hardened git command; ``run`` runs it."""
    cwd, pins = _located(where)
    full = _env(protocol)
    full.update(pins)
    named = _discovery.overrides(cwd, _add_config(dict(full), FIXED_OVERRIDES), pins)
    if env:  # a caller's own config (config_env): its GIT_CONFIG_* entries, nothing else
        full |= {k: v for k, v in env.items() if k == "GIT_CONFIG_COUNT"
                 or k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    _add_config(full, [*FIXED_OVERRIDES, *named, *LAST_OVERRIDES])
    return ["git", *hardened_args(args)], cwd, full


def run(where: Where, *args: str, check: bool = True, timeout: float = 300,
        env: dict[str, str] | None = None, protocol: str = "",
        stdin_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """``git ARGS`` at ``where``, hardened (see the module's docstring). ``env``: config from
    ``config_env`` (only its ``GIT_CONFIG_*`` entries count); ``protocol``: the one transport
    a push may use (``https``, ``http``, ``ssh`` or ``file``)."""
    argv, cwd, full = command(where, *args, env=env, protocol=protocol)
    proc = subprocess.run(argv, cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, env=full, input=stdin_text, errors="replace")
    if check and proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr or proc.stdout)
    return proc


def out(where: Where, *args: str, **kw: object) -> str:
    return run(where, *args, **kw).stdout.strip()  # type: ignore[arg-type]


def ok(where: Where, *args: str) -> bool:
    return run(where, *args, check=False).returncode == 0


# -- repositories and worktrees ------------------------------------------------------------
def common_dir(repo: Path | str) -> Path:
    """The repository's shared git dir (hooks, config, refs, objects)."""
    dot = Path(repo) / ".git"
    if dot.is_dir() and not dot.is_symlink():
        return dot.absolute()
    return Path(repo) / out(repo, "rev-parse", "--git-common-dir")


@contextmanager
def worktree_lock(repo: Path | str) -> Iterator[None]:
    """One ``git worktree`` change at a time per repository.

    git does not serialise them: with a few workers starting at once, ``prune`` deletes
    another's half-made entry (``could not open '.git/worktrees/X/locked'``) and ``add``
    reads one half-written (``failed to read .git/worktrees/X/commondir``).
    """
    with open(common_dir(repo) / "shiftctl-worktree.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def worktree(repo: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``git worktree ARGS`` in ``repo``, under ``worktree_lock``."""
    with worktree_lock(repo):
        return run(repo, "worktree", *args, check=check)


def _gitfile_target(path: Path) -> Path | None:
    """Where a worktree's ``.git`` file points, if it is a plain file saying ``gitdir:``."""
    dot = path / ".git"
    if dot.is_symlink() or not dot.is_file():
        return None
    try:
        text = dot.read_text(errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[len("gitdir:"):].strip())
    return target if target.is_absolute() else path / target


def find_worktree(repo: Path | str, path: Path | str, *, intact: bool = False) -> Tree | None:
    """The linked worktree at ``path`` as git's own records say: the entry under
    ``<common>/worktrees/`` whose ``gitdir`` names ``path/.git``, never the other way round
    (the ``.git`` file is the agent's to rewrite; a symbolic link would lead into another
    checkout). ``intact``: the ``.git`` file must also point back at that entry."""
    path = Path(path)
    if path.is_symlink():
        return None
    admin = common_dir(repo) / "worktrees"
    want = os.path.normpath(os.path.realpath(path.parent) + "/" + path.name + "/.git")
    try:
        entries = sorted(admin.iterdir())
    except OSError:
        return None
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir():
            continue
        try:
            recorded = (entry / "gitdir").read_text(errors="replace").strip()
        except OSError:
            continue
        if os.path.normpath(recorded) != want:
            continue
        if intact:
            target = _gitfile_target(path)
            if target is None or os.path.realpath(target) != os.path.realpath(entry):
                return None
        return Tree(path, entry)
    return None


# Only git's bookkeeping of worktrees is done under the lock; their files are checked out and
# deleted outside it: in a repository of 10,000 files either takes seconds, and workers
# starting together must not queue for one another's.
def add_worktree(repo: Path | str, path: Path | str, ref: str, *options: str) -> Tree:
    """``git worktree add OPTIONS PATH REF``: the entry, then the files."""
    worktree(repo, "add", "--no-checkout", *options, str(path), ref)
    tree = find_worktree(repo, path, intact=True)
    if tree is None:
        raise GitError(["worktree", "add", str(path)], 1,
                       f"git made no entry for the worktree {path} under its git dir")
    run(tree, "reset", "-q", "--hard")
    return tree


def _inside(repo: Path | str, path: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(repo))


def _clear(repo: Path | str, path: Path) -> None:
    """Whatever is at ``path``, gone: a symbolic link as a link (never followed, its target
    untouched), a file, a directory. Below ``repo``, no parent may be a link."""
    if _inside(repo, path):
        check_unlinked(Path(repo), path.parent)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def fresh_worktree(repo: Path | str, path: Path | str, ref: str, *options: str) -> Tree:
    """A new worktree at ``path``, whatever was there removed first."""
    path = Path(path)
    _clear(repo, path)
    worktree(repo, "prune", check=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return add_worktree(repo, path, ref, *options)


def remove_worktree(repo: Path | str, path: Path | str) -> None:
    """The files, then the entry (``prune`` forgets worktrees whose directory is gone)."""
    try:
        _clear(repo, Path(path))
    except FileNotFoundError:
        pass
    worktree(repo, "prune", check=False)


def rev(where: Where, ref: str) -> str | None:
    proc = run(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def branch_exists(where: Where, branch: str) -> bool:
    return rev(where, f"refs/heads/{branch}") is not None


def is_ancestor(where: Where, ancestor: str, descendant: str) -> bool:
    return ok(where, "merge-base", "--is-ancestor", ancestor, descendant)


def commits_between(where: Where, base: str, head: str = "HEAD") -> list[str]:
    text = out(where, "rev-list", "--reverse", f"{base}..{head}")
    return text.split() if text else []


def files_between(where: Where, base: str, head: str = "HEAD") -> list[str]:
    text = out(where, "diff", "--name-only", "--no-renames", base, head)
    return [line for line in text.splitlines() if line]


def commit_all(where: Where, message: str) -> str | None:
    """Commit whatever is left in the worktree; returns the new SHA or None if clean."""
    run(where, "add", "-A")
    if ok(where, "diff", "--cached", "--quiet"):
        return None
    run(where, *IDENTITY, "commit", "--no-verify", "-q", "-m", message)
    return out(where, "rev-parse", "HEAD")


def merge_in_progress(where: Where) -> bool:
    return rev(where, "MERGE_HEAD") is not None


def clean_reset(where: Where, ref: str = "HEAD") -> None:
    if merge_in_progress(where):
        run(where, "merge", "--abort", check=False)
    run(where, "reset", "-q", "--hard", ref)
    run(where, "clean", "-q", "-fdx")
