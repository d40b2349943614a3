"""``shiftctl doctor``: can this machine run shiftctl on this repository? Says what is missing."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shiftctl.admin import backups, credentials
from shiftctl.admin.audit.keys import exposure
from shiftctl.admin.audit.verdict import verify
from shiftctl.admin.config import Config, Profile
from shiftctl.admin.paths import Paths
from shiftctl.admin.profiles import (
    configured_profiles,
    executable,
    known_problem,
    sandbox_in_force,
    worker_pass_env,
)
from shiftctl.admin.statedb import describe_error, open_reader
from shiftctl.memory.backup import integrity
from shiftctl.memory.db import StateCorrupt, StateError, StateMissing, sqlite_version
from shiftctl.system import git, sandbox
from shiftctl.system.env import build_env, local_identity


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _state(config: Config, paths: Paths) -> list[Finding]:
    """The state db (quick integrity check), its audit log and its backups."""
    out = []
    used = {config.agents.default, config.planner.profile, config.review.judge} - {None}
    unsandboxed = sorted(n for n, p in config.agents.profiles.items()
                         if n in used and sandbox_in_force(config, p).kind != "bwrap")
    if unsandboxed:
        out.append(Finding("audit key", False, (
            f"profiles {', '.join(unsandboxed)} run agents unsandboxed, as you: they could "
            f"read {paths.audit_key} and forge the audit log (sandbox: bwrap hides it)"),
            required=False))
    if exposed := exposure(paths):
        out.append(Finding("audit key", False, exposed))
    newest = backups.listing(paths)
    out.append(Finding("backups", bool(newest), (
        f"{len(newest)} in {paths.backups}, newest {newest[0].name}" if newest else
        f"none yet in {paths.backups} (every memory.backup_interval hours, or "
        "shiftctl state backup)"), required=False))
    if not paths.state_db.exists():
        return out
    try:
        store = open_reader(paths)
    except StateMissing as exc:
        return [Finding("state db", True, str(exc)), *out]
    except StateError as exc:
        return [Finding("state db", False, describe_error(paths, exc)), *out]
    try:
        damage = integrity(store.conn, quick=True)
        if damage:
            why = describe_error(paths, StateCorrupt(f"integrity check failed: {damage}"))
            return [Finding("state db", False, why), *out]
        verdict = verify(store.conn, paths)
        refused = [Finding(f"refused {name}", False, (
            f"its provider refused the credentials ({why}); no run starts on it until they "
            "are fixed and a person replies /retry TASK (or runs shiftctl retry ISSUE-TASK)"))
            for name, why in sorted(store.refusals().items())]
    except (StateError, sqlite3.DatabaseError) as exc:  # a damaged page met while reading
        return [Finding("state db", False, describe_error(paths, exc)), *out]
    finally:
        store.close()
    return [Finding("state db", True, f"{paths.state_db} (integrity ok)"),
            Finding("audit log", verdict.ok, verdict.summary), *refused, *out]


def check(config: Config, *, smoke: bool = False) -> list[Finding]:
    paths = Paths(config.root)
    found = [Finding("python", sys.version_info >= (3, 11), sys.version.split()[0])]
    gv = git.out(config.root, "--version", check=False).replace("git version ", "")
    found.append(Finding("git", _version(gv) >= (2, 25), f"git {gv} (needs 2.25+ for worktrees)"))
    repo_ok = git.run(config.root, "rev-parse", "--git-dir", check=False).returncode == 0
    found.append(Finding("repository", repo_ok, str(config.root)))
    if repo_ok:
        from shiftctl.admin.cycle.snapshot import base_branch_problem
        why = base_branch_problem(config)
        found.append(Finding("base branch", why is None, why or config.base_branch))
    sv = sqlite_version()
    found.append(Finding("sqlite", True, f"SQLite {sv}; state.db has a single writer (the admin) "
                         "so the WAL-reset bug of SQLite < 3.51.3 cannot occur", required=False))
    found += _state(config, paths)
    try:
        from shiftctl.admin.tracker import cached_kv, open_tracker
        tracker = open_tracker(config, cached_kv(paths))
        missing = tracker.check_access()
        found.append(Finding("tracker", not missing, f"{config.tracker.kind}: " + (
            "; ".join(missing) if missing else "reachable, access ok")))
        tracker.close()
    except Exception as exc:
        found.append(Finding("tracker", False, f"{config.tracker.kind}: {exc}"))
    found += identity_findings(config)
    profiles = configured_profiles(config, _task_profiles(paths))
    found += agent_findings(config, profiles)
    if smoke:
        from shiftctl.admin.cli.smoke import smoke as run_smoke
        for name in profiles:
            tried = run_smoke(config, name)
            found.append(Finding(f"smoke {name}", tried.ok, tried.describe()))
    has_sup = shutil.which("supervisord") is not None or \
        importlib.util.find_spec("supervisor") is not None
    found.append(Finding("supervisor", has_sup, "supervisord available" if has_sup else
                         "supervisor is not installed (pip install supervisor)", required=False))
    try:
        free = shutil.disk_usage(paths.runtime if paths.runtime.exists() else config.root).free
        found.append(Finding("disk", free > 200 * 1024 * 1024, f"{free // (1024 * 1024)} MB free"))
    except OSError as exc:
        found.append(Finding("disk", False, str(exc)))
    return found


def _task_profiles(paths: Paths) -> list[str]:
    """The profiles open tasks name (a task's ``agent:`` line), from the state db if any."""
    try:
        store = open_reader(paths)
    except StateError:
        return []
    try:
        rows = store.conn.execute("SELECT DISTINCT profile FROM tasks WHERE profile IS NOT NULL "
                                  "AND state NOT IN ('done', 'cancelled')").fetchall()
        return [r[0] for r in rows]
    except sqlite3.DatabaseError:
        return []
    finally:
        store.close()


def agent_findings(config: Config, names: list[str]) -> list[Finding]:
    """Per configured profile: its CLI, a setting it is known to refuse, its credentials as
    the agent will see them, and its sandbox. Every one of them can be started, so every
    problem is a failure."""
    found = []
    for name in names:
        prof = config.agents.profiles[name]
        exe = executable(prof)
        where = shutil.which(exe)
        problem = known_problem(prof, os.environ, os.geteuid(), config)
        found.append(Finding(f"agent {name}", where is not None and problem is None,
                             f"{prof.kind}: {problem}" if where and problem else
                             f"{prof.kind}: {where}" if where else
                             f"{prof.kind}: {exe!r} not found on PATH"))
        boxed = sandbox_in_force(config, prof).kind == "bwrap"
        verdict = credentials.check(prof, os.environ, boxed=boxed)
        if verdict is not None:
            found.append(Finding(f"credentials {name}", verdict.ok, verdict.detail))
    return found + sandbox_findings(config, set(names))


def identity_findings(config: Config) -> list[Finding]:
    """On the local tracker: can the issues you file match ``tracker.allowed_authors``? If
    not, every one of them is ignored (``status`` lists them as such)."""
    allowed = config.tracker.allowed_authors
    if config.tracker.kind != "local" or not allowed:
        return []
    me = local_identity()
    if me in allowed:
        return [Finding("allowed authors", True, f"you ({me}) may file issues and commands",
                        required=False)]
    return [Finding("allowed authors", False, (
        f"tracker.allowed_authors ({', '.join(allowed)}) does not include {me!r}, as whom "
        f"`shiftctl issue new` files: your issues would be ignored. Add {me!r} to "
        "tracker.allowed_authors (or file with --author)"), required=False)]


# agent CLIs that answer --version (without a model): the sandbox probe starts them boxed
VERSION_KINDS = ("claude", "codex", "aider", "gemini", "opencode")


def starts_boxed(config: Config, prof: Profile) -> str | None:
    """Why the profile's CLI does not start inside the sandbox (a CLI under a hidden HOME
    that ``sandbox_expose`` should name), or None when it does or cannot be asked."""
    exe = executable(prof)
    if prof.kind not in VERSION_KINDS or shutil.which(exe) is None:
        return None
    env = build_env(build_env(os.environ, worker_pass_env(config)), prof.pass_env, prof.env)
    with tempfile.TemporaryDirectory(prefix="shiftctl-doctor-") as tmp:
        home, wt = Path(tmp) / "home", Path(tmp) / "wt"
        home.mkdir()
        wt.mkdir()
        box = sandbox.make_box(wt, home, env, hide=[config.runtime],
                               expose=config.sandbox_expose)
        try:
            proc = subprocess.run(box.argv([exe, "--version"]), env=env, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exe} --version did not finish inside bwrap: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return (f"{exe} --version fails inside bwrap (exit {proc.returncode}: {tail[0][:200]}); "
                "if it is installed under your HOME, list its directory in sandbox_expose")
    return None


def sandbox_findings(config: Config, used: set[str]) -> list[Finding]:
    """Per profile: the sandbox in force and why; a warning when agents run unsandboxed, a
    failure when a required bwrap cannot run or a used profile's CLI cannot start in it."""
    out = []
    for name, prof in sorted(config.agents.profiles.items()):
        if name not in used:
            continue  # a profile nobody configured is not mentioned
        eff = sandbox_in_force(config, prof)
        detail = eff.describe()
        ok = eff.kind == "bwrap" and eff.error is None
        if eff.error:
            detail += f"; profile {name} will refuse to start"
        elif ok and (why := starts_boxed(config, prof)):
            ok, detail = False, f"{detail}; but {why}"
        out.append(Finding(f"sandbox {name}", ok, detail,
                           required=bool(eff.error) or (not ok and eff.kind == "bwrap"
                                                         and name in used)))
    return out
