"""Tampering with the shared git dir, detected around each agent and undone where it can be.

An agent that can reach the repository's git dir (unsandboxed, or out of a sandbox) can plant
hooks and config that would run its code in the next git command a person (or a careless
tool) runs, and can move refs nobody reviewed. shiftctl's own git is immune (see
``shiftctl.system.git``), so what remains is to notice and to clean up: the worker
fingerprints what shiftctl itself never changes while runs are in flight -- the hooks, the
config files, ``info/``, ``objects/info/alternates``, its own worktree's records, and every
ref outside shiftctl's namespaces -- right before the agent starts and right after it ends.
A difference ends the attempt as ``tampered``: nothing of it is committed or merged, a person
is told what changed, and the worker undoes it, keeping what it removes (files in the run
directory, refs under ``refs/shiftctl/quarantine/<run>/``).

Runs overlap, so a run that started after another agent tampered sees the tampered state as
its "before". When the other run undoes it, this run must not put it back: every undone
digest is recorded (``<common>/shiftctl-tainted.json``) and never restored by anyone.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.system import git
from shiftctl.system.fs import atomic_write

# refs the admin and the workers move themselves while runs are in flight, and remote-tracking
# refs (a person's editor fetches at any time; the next fetch force-updates them anyway)
OWN_REFS = ("refs/heads/shiftctl/", "refs/shiftctl/", "refs/remotes/")
QUARANTINE = "refs/shiftctl/quarantine"
TAINTED = "shiftctl-tainted.json"
LOCK = "shiftctl-tamper.lock"
KEEP_BYTES = 1024 * 1024     # files up to this size are kept, so they can be restored
MAX_ENTRIES = 2000           # a hooks/ or info/ directory bigger than this is itself news
REF = "ref:"


@dataclass(frozen=True)
class Change:
    key: str
    kind: str  # added | removed | changed
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Step:
    """One undo action: ``remove`` (an added file or dir), ``restore`` (a file's or ref's
    earlier state), ``quarantine`` (an added ref: keep it aside, delete it), or ``keep``
    (nothing can or may be undone; ``why`` says which)."""
    action: str
    change: Change
    why: str = ""


@dataclass
class Snapshot:
    digests: dict[str, str] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)


# -- pure ------------------------------------------------------------------------------------
def diff(before: Mapping[str, str], after: Mapping[str, str]) -> list[Change]:
    """What changed between two fingerprints, in a stable order. A worktree's own config that
    went away with its worktree (pruned by another run) is not a change."""
    out = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if a is None and key.startswith("worktrees/") and key.endswith("/config.worktree"):
            continue
        out.append(Change(key, "added" if b is None else "removed" if a is None else "changed",
                          b, a))
    return out


def plan_undo(changes: list[Change], restorable: set[str],
              tainted: Mapping[str, list[str]]) -> list[Step]:
    """How to undo ``changes``: ``restorable`` are the keys whose earlier content is known;
    ``tainted`` the digests some run already undid (never put back). Directories first,
    so that a replaced ``hooks/`` exists again before its files return."""
    steps = []
    for c in sorted(changes, key=lambda c: (c.key.count("/"), c.key)):
        if c.kind == "added":
            steps.append(Step("quarantine" if c.key.startswith(REF) else "remove", c))
        elif c.before in tainted.get(c.key, ()):
            steps.append(Step("keep", c, "its earlier state was itself undone as tampering"))
        elif c.key.startswith(REF) or c.key in restorable:
            steps.append(Step("restore", c))
        else:
            steps.append(Step("keep", c, "its earlier content was too large to keep "
                                         "(or was not a file)"))
    return steps


def label(key: str) -> str:
    """A change's subject, for a person."""
    if key.startswith(REF):
        return f"ref `{key[len(REF):]}`"
    if key == "hooks":
        return "the hooks directory `.git/hooks`"
    if key.startswith("hooks/"):
        return f"hook `{key[len('hooks/'):]}`"
    if key.startswith("worktrees/"):
        return f"worktree record `.git/{key}`"
    return f"`.git/{key}`"


# -- fingerprints ----------------------------------------------------------------------------
def _file(snap: Snapshot, key: str, path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        snap.digests[key] = f"link:{os.readlink(path)}"
    elif stat.S_ISDIR(st.st_mode):
        snap.digests[key] = "dir"
    elif not stat.S_ISREG(st.st_mode):
        snap.digests[key] = f"special:{stat.S_IFMT(st.st_mode):o}"
    else:
        h = hashlib.sha256()
        kept = bytearray()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                h.update(chunk)
                if len(kept) <= KEEP_BYTES:
                    kept += chunk
        snap.digests[key] = f"sha256:{h.hexdigest()}:{stat.S_IMODE(st.st_mode):o}"
        snap.modes[key] = stat.S_IMODE(st.st_mode)
        if len(kept) <= KEEP_BYTES:
            snap.contents[key] = bytes(kept)


def _tree(snap: Snapshot, common: Path, rel: str) -> None:
    """``rel`` and everything below it, links never followed."""
    top = common / rel
    _file(snap, rel, top)
    if snap.digests.get(rel) != "dir":
        return
    seen = 0
    for dirpath, dirnames, filenames in os.walk(top):  # os.walk does not follow links
        for name in sorted(dirnames + filenames):
            seen += 1
            if seen > MAX_ENTRIES:
                snap.digests[f"{rel}/..."] = f"more than {MAX_ENTRIES} entries"
                return
            path = Path(dirpath) / name
            _file(snap, path.relative_to(common).as_posix(), path)


def refs(repo: Path) -> dict[str, str]:
    """Every ref outside shiftctl's own namespaces: ``ref:<name>`` -> object id."""
    text = git.out(repo, "for-each-ref", "--format=%(objectname) %(refname)")
    out = {}
    for line in text.splitlines():
        sha, _, name = line.partition(" ")
        if name and not name.startswith(OWN_REFS):
            out[REF + name] = sha
    return out


def take(repo: Path, own: git.Tree | None) -> Snapshot:
    """The fingerprint of ``repo``'s shared git dir (and of ``own``, the run's worktree
    records)."""
    common = git.common_dir(repo)
    snap = Snapshot()
    for rel in ("hooks", "info"):
        _tree(snap, common, rel)
    for rel in ("config", "config.worktree", "objects/info/alternates"):
        _file(snap, rel, common / rel)
    try:
        admins = sorted(p.name for p in (common / "worktrees").iterdir())
    except OSError:
        admins = []
    for name in admins:
        _file(snap, f"worktrees/{name}/config.worktree",
              common / "worktrees" / name / "config.worktree")
    if own is not None and own.git_dir.parent == common / "worktrees":
        for rel in ("gitdir", "commondir"):
            _file(snap, f"worktrees/{own.git_dir.name}/{rel}", own.git_dir / rel)
    snap.digests.update(refs(repo))
    return snap


# -- undoing ---------------------------------------------------------------------------------
def config_delta(repo: Path, before: bytes | None, after: bytes | None) -> list[str]:
    """The keys a config file gained, lost or changed (values shown), for a person."""
    b, a = _config_keys(repo, before), _config_keys(repo, after)
    lines = [f"+ {k} = {v}" for k, v in a.items() if k not in b]
    lines += [f"- {k}" for k in b if k not in a]
    lines += [f"~ {k} = {v}" for k, v in a.items() if k in b and b[k] != v]
    return lines[:40]


def _config_keys(repo: Path, content: bytes | None) -> dict[str, str]:
    if not content:
        return {}
    proc = git.run(repo, "config", "--file", "-", "--no-includes", "--list", "-z", check=False,
                   stdin_text=content.decode("utf-8", "replace"), timeout=30)
    if proc.returncode != 0:
        return {"(unparsable config)": hashlib.sha256(content).hexdigest()[:12]}
    out: dict[str, str] = {}
    for item in proc.stdout.split("\0"):
        if item:
            key, _, value = item.partition("\n")
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class Undo:
    """Carries out ``plan_undo``'s steps for one run; reports each as a line for a person."""

    def __init__(self, repo: Path, run_id: str, keep_dir: Path, before: Snapshot,
                 after: Snapshot) -> None:
        self.repo, self.run_id, self.keep_dir = repo, run_id, keep_dir
        self.common = git.common_dir(repo)
        self.before, self.after = before, after

    def _keep_copy(self, key: str) -> str:
        src = self.common / key
        dest = self.keep_dir / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dest.write_text(f"symbolic link to {os.readlink(src)}\n")
        elif src.is_dir():
            shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
        elif src.exists():
            shutil.copyfile(src, dest)
        try:  # shown to a person (on the tracker): relative to the repository when inside it
            return str(dest.relative_to(self.repo))
        except ValueError:
            return str(dest)

    def _remove(self, key: str) -> str:
        path = self.common / key
        kept = self._keep_copy(key)
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
        return f"removed; a copy is in {kept}"

    def _restore_file(self, key: str) -> str:
        path = self.common / key
        kept = self._keep_copy(key) if (path.exists() or path.is_symlink()) else ""
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        elif path.is_dir() and self.before.digests.get(key) != "dir":
            shutil.rmtree(path)
        earlier = self.before.digests.get(key, "")
        if earlier == "dir":
            path.mkdir(parents=True, exist_ok=True)
        elif earlier.startswith("link:"):
            path.symlink_to(earlier[len("link:"):])
        else:
            atomic_write(path, self.before.contents[key])
            os.chmod(path, self.before.modes.get(key, 0o644))
        return "restored" + (f"; what was found is in {kept}" if kept else "")

    def _ref(self, step: Step) -> str:
        c = step.change
        name = c.key[len(REF):]
        kept = ""
        if c.after is not None:
            kept = f"{QUARANTINE}/{self.run_id}/{name}"
            git.run(self.repo, "update-ref", kept, c.after)
        if step.action == "quarantine":
            git.run(self.repo, "update-ref", "-d", name, c.after or "")
            return f"deleted; kept as `{kept}`"
        git.run(self.repo, "update-ref", name, c.before or "", c.after or "0" * 40)
        return f"restored to {(c.before or '')[:12]}" + (f"; kept as `{kept}`" if kept else "")

    def carry_out(self, step: Step) -> str:
        c = step.change
        try:
            if step.action == "keep":
                return f"left as found: {step.why}"
            if c.key.startswith(REF):
                return self._ref(step)
            if step.action == "remove":
                return self._remove(c.key)
            return self._restore_file(c.key)
        except (OSError, git.GitError, KeyError) as exc:
            return f"could not be undone: {exc}"[:500]


def describe(repo: Path, change: Change, before: Snapshot, after: Snapshot,
             undone: str) -> dict[str, Any]:
    """One entry of ``result.json``'s ``tampering``."""
    entry: dict[str, Any] = {"what": label(change.key), "change": change.kind, "undo": undone}
    base = change.key.rsplit("/", 1)[-1]
    if not change.key.startswith(REF) and base in ("config", "config.worktree"):
        entry["detail"] = config_delta(repo, before.contents.get(change.key),
                                       after.contents.get(change.key))
    elif change.key.startswith(REF):
        entry["detail"] = [f"{change.before or '(none)'} -> {change.after or '(deleted)'}"]
    return entry


def restorable(snap: Snapshot) -> set[str]:
    """The keys whose earlier state can be recreated: kept files, directories, links."""
    return set(snap.contents) | {k for k, d in snap.digests.items()
                                 if d == "dir" or d.startswith("link:")}


# -- around the agent ------------------------------------------------------------------------
@contextmanager
def _locked(common: Path) -> Iterator[None]:
    with open(common / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _tainted(common: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((common / TAINTED).read_text())
    except (OSError, ValueError):
        return {}
    return {k: [d for d in v if isinstance(d, str)] for k, v in data.items()
            if isinstance(v, list)} if isinstance(data, dict) else {}


def _record_tainted(common: Path, tainted: dict[str, list[str]], changes: list[Change]) -> None:
    for c in changes:
        if c.after is not None:
            tainted[c.key] = [*tainted.get(c.key, [])[-20:], c.after]
    atomic_write(common / TAINTED, json.dumps(tainted, sort_keys=True))


class Guard:
    """``before()`` right before the agent, ``after()`` right after it: what changed, undone."""

    def __init__(self, repo: Path, run_id: str, run_dir: Path, own: git.Tree | None) -> None:
        self.repo, self.run_id, self.own = repo, run_id, own
        self.keep_dir = run_dir / "tampered"
        self.common = git.common_dir(repo)
        self.first = Snapshot()

    def before(self) -> None:
        with _locked(self.common):
            self.first = take(self.repo, self.own)

    def after(self) -> list[dict[str, Any]]:
        with _locked(self.common):
            try:
                second = take(self.repo, self.own)
            except (OSError, git.GitError) as exc:
                return [{"what": "the repository's git dir", "change": "unreadable",
                         "undo": f"nothing could be undone: {exc}"[:1000], "detail": []}]
            changes = diff(self.first.digests, second.digests)
            if not changes:
                return []
            tainted = _tainted(self.common)
            undo = Undo(self.repo, self.run_id, self.keep_dir, self.first, second)
            found = [describe(self.repo, s.change, self.first, second, undo.carry_out(s))
                     for s in plan_undo(changes, restorable(self.first), tainted)]
            _record_tainted(self.common, tainted, changes)
        return found
