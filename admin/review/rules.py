"""Deterministic review (docs/design.md §7): facts about a task's diff in, a verdict out.

``verdict`` is pure; ``gather`` reads the facts from git (one ``diff --raw -z`` for the
files, modes and blobs, one ``cat-file --batch-check`` for their sizes). A judge agent,
when configured, only ever sees work that already passed here.
"""
from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.admin.config import Config
from shiftctl.admin.cycle.ladder import path_parts
from shiftctl.admin.redact import SECRET_PATTERNS
from shiftctl.system import git

MAX_SCAN_BYTES = 8 * 1024 * 1024
MAX_SYMLINKS = 200  # each target is read with one git call; more than this is a finding
SYMLINK = "120000"
GITLINK = "160000"
SHOWN = 20


@dataclass
class DiffFacts:
    commits: list[str]
    files: list[str]
    added_lines: list[str] = field(default_factory=list)
    diff_lines: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)
    bytes_added: int = 0                                      # added/modified blobs, in bytes
    symlinks: list[tuple[str, str]] = field(default_factory=list)  # (path, target)
    gitlinks: list[str] = field(default_factory=list)         # submodule entries


@dataclass(frozen=True)
class Policy:
    forbidden_paths: tuple[str, ...]
    max_diff_lines: int = 5000
    max_files_changed: int = 500
    max_bytes_added: int = 20 * 1024 * 1024


@dataclass
class Verdict:
    passed: bool
    findings: list[str]


def policy_of(config: Config) -> Policy:
    """The review policy of a configuration: its forbidden paths plus the prompts directory
    (templates the admin renders from the main checkout must not change through a PR)."""
    review = config.review
    forbidden = list(review.forbidden_paths)
    if config.prompts_dir:
        prompts = Path(config.prompts_dir)
        if prompts.is_absolute():
            try:
                prompts = prompts.resolve().relative_to(config.root.resolve())
            except ValueError:
                prompts = Path()  # outside the repository: no commit can touch it
        rel = prompts.as_posix().strip("/")
        if rel and rel != ".":
            forbidden.append(rel + "/")
    return Policy(tuple(forbidden), review.max_diff_lines, review.max_files_changed,
                  review.max_bytes_added)


def path_forbidden(path: str, patterns: Sequence[str]) -> bool:
    """``dir/``: everything below that directory; a pattern without ``/`` (``.gitmodules``,
    ``*.pem``): that name at any depth; anything else: a glob on the whole path."""
    name = path.rsplit("/", 1)[-1]
    for pat in patterns:
        if pat.endswith("/"):
            if path.startswith(pat) or path == pat.rstrip("/"):
                return True
        elif "/" not in pat:
            if fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(path, pat):
                return True
        elif fnmatch.fnmatchcase(path, pat) or path == pat:
            return True
    return False


def outside_paths(files: Sequence[str], claims: Sequence[str]) -> list[str]:
    """The files not inside any claimed path (a claim covers itself and, as a directory,
    everything below it, by whole components)."""
    wanted = [path_parts(c) for c in claims]
    wanted = [w for w in wanted if w]
    if not wanted:
        return []
    return [f for f in files if not any(path_parts(f)[:len(w)] == w for w in wanted)]


def symlink_problem(path: str, target: str) -> str | None:
    """Why a symlink at ``path`` pointing at ``target`` must not be merged, or None."""
    if not target or "\0" in target:
        return "an empty or binary target"
    if target.startswith("/"):
        return "an absolute target"
    where = posixpath.dirname(path)
    depth = len(path_parts(where))
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "a target outside the repository"
        elif part not in ("", "."):
            depth += 1
    resolved = posixpath.normpath(posixpath.join(where, target))
    if path_parts(resolved)[:1] and path_parts(resolved)[0].lower() == ".git":
        return "a target inside .git"
    return None


def _limit_findings(facts: DiffFacts, policy: Policy) -> list[str]:
    out = []
    if facts.diff_lines > policy.max_diff_lines:
        out.append(f"the diff has {facts.diff_lines} changed lines, more than "
                   f"review.max_diff_lines ({policy.max_diff_lines}); split the task")
    if len(facts.files) > policy.max_files_changed:
        out.append(f"the diff changes {len(facts.files)} files, more than "
                   f"review.max_files_changed ({policy.max_files_changed}); split the task")
    if facts.bytes_added > policy.max_bytes_added:
        out.append(f"the diff adds {facts.bytes_added} bytes of file content (binary "
                   f"included), more than review.max_bytes_added ({policy.max_bytes_added})")
    return out


def _path_findings(facts: DiffFacts, policy: Policy, task_paths: Sequence[str]) -> list[str]:
    out = []
    bad = [f for f in facts.files if path_forbidden(f, policy.forbidden_paths)]
    if bad:
        out.append("changes files it must not touch (review.forbidden_paths): "
                   + ", ".join(bad[:SHOWN]))
    dotgit = [f for f in facts.files if any(p.lower() == ".git" for p in f.split("/"))]
    if dotgit:
        out.append("adds files under a .git directory: " + ", ".join(dotgit[:SHOWN]))
    outside = outside_paths(facts.files, task_paths)
    if outside:
        out.append(f"changes files outside the task's paths ({', '.join(task_paths)}): "
                   + ", ".join(outside[:SHOWN]))
    if len(facts.symlinks) > MAX_SYMLINKS:
        out.append(f"adds {len(facts.symlinks)} symlinks, more than {MAX_SYMLINKS}")
    links = [f"{p} -> {t!r} ({why})" for p, t in facts.symlinks[:MAX_SYMLINKS]
             if (why := symlink_problem(p, t))]
    if links:
        out.append("adds symlinks that leave the worktree: " + ", ".join(links[:SHOWN]))
    if facts.gitlinks:
        out.append("adds submodule entries (gitlinks): " + ", ".join(facts.gitlinks[:SHOWN]))
    return out


def verdict(facts: DiffFacts, policy: Policy, task_paths: Sequence[str] = ()) -> Verdict:
    findings: list[str] = []
    if not facts.commits:
        findings.append("no commits: the task claimed success but changed nothing")
    findings += _path_findings(facts, policy, task_paths)
    for name, pattern in SECRET_PATTERNS:
        hit = next((line for line in facts.added_lines if pattern.search(line)), None)
        if hit is not None:
            findings.append(f"adds something that looks like a secret ({name})")
    findings += _limit_findings(facts, policy)
    for check in facts.checks:
        if not check.get("passed"):
            out = (check.get("output") or "").strip()
            findings.append(f"check '{check.get('name')}' failed:\n{out[-2500:]}")
    return Verdict(not findings, findings)


@dataclass(frozen=True)
class RawEntry:
    new_mode: str
    new_sha: str
    status: str
    path: str


def parse_raw(text: str) -> list[RawEntry]:
    """``git diff --raw -z --no-renames --no-abbrev``: ``:old new osha nsha S\\0path\\0``."""
    fields = text.split("\0")
    out = []
    i = 0
    while i + 1 < len(fields):
        head, path = fields[i], fields[i + 1]
        i += 2
        parts = head.lstrip(":").split()
        if len(parts) < 5:
            continue
        out.append(RawEntry(new_mode=parts[1], new_sha=parts[3], status=parts[4][:1],
                            path=path))
    return out


def _sizes(repo: Path, shas: list[str]) -> int:
    if not shas:
        return 0
    text = git.out(repo, "cat-file", "--batch-check=%(objectsize)",
                   stdin_text="\n".join(shas) + "\n")
    return sum(int(x) for x in text.split() if x.isdigit())


def gather(repo: Path, base: str, head: str, checks: list[dict[str, Any]]) -> DiffFacts:
    commits = git.commits_between(repo, base, head)
    entries = parse_raw(git.run(repo, "diff", "--raw", "-z", "--no-renames", "--no-abbrev",
                                base, head).stdout) if commits else []
    present = [e for e in entries if e.status != "D"]
    blobs = [e for e in present if e.new_mode not in (GITLINK,)]
    symlinks = []
    for e in [e for e in present if e.new_mode == SYMLINK][:MAX_SYMLINKS + 1]:
        symlinks.append((e.path, git.run(repo, "cat-file", "blob", e.new_sha).stdout))
    diff_lines = 0
    for line in git.out(repo, "diff", "--numstat", base, head).splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            diff_lines += int(parts[0]) + int(parts[1])
    added: list[str] = []
    if commits:
        text = git.out(repo, "diff", "--no-color", "-U0", "--no-ext-diff", "--no-textconv",
                       base, head)
        for line in text[:MAX_SCAN_BYTES].splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added.append(line[1:])
    return DiffFacts(commits=commits, files=[e.path for e in entries], added_lines=added,
                     diff_lines=diff_lines, checks=checks,
                     bytes_added=_sizes(repo, [e.new_sha for e in blobs]),
                     symlinks=symlinks,
                     gitlinks=[e.path for e in present if e.new_mode == GITLINK])
