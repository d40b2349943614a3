"""Deterministic review (docs/design.md §7): facts about a task's diff in, a verdict out.

``verdict`` is pure; ``gather`` reads the facts from git. A judge agent, when configured,
only ever sees work that already passed here.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.system import git

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("OpenAI/Anthropic key", re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{24,}")),
    ("Slack token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)
MAX_SCAN_BYTES = 8 * 1024 * 1024


@dataclass
class DiffFacts:
    commits: list[str]
    files: list[str]
    added_lines: list[str] = field(default_factory=list)
    diff_lines: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Verdict:
    passed: bool
    findings: list[str]


def path_forbidden(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    for pat in patterns:
        if pat.endswith("/"):
            if path.startswith(pat) or path == pat.rstrip("/"):
                return True
        elif fnmatch.fnmatchcase(path, pat) or path == pat:
            return True
    return False


def verdict(facts: DiffFacts, *, forbidden_paths: tuple[str, ...] | list[str],
            max_diff_lines: int) -> Verdict:
    findings: list[str] = []
    if not facts.commits:
        findings.append("no commits: the task claimed success but changed nothing")
    bad = [f for f in facts.files if path_forbidden(f, forbidden_paths)]
    if bad:
        findings.append("changes files it must not touch: " + ", ".join(bad[:20]))
    for name, pattern in SECRET_PATTERNS:
        hit = next((line for line in facts.added_lines if pattern.search(line)), None)
        if hit is not None:
            findings.append(f"adds something that looks like a secret ({name})")
    if facts.diff_lines > max_diff_lines:
        findings.append(f"the diff has {facts.diff_lines} changed lines, more than "
                        f"review.max_diff_lines ({max_diff_lines}); split the task")
    for check in facts.checks:
        if not check.get("passed"):
            out = (check.get("output") or "").strip()
            findings.append(f"check '{check.get('name')}' failed:\n{out[-2500:]}")
    return Verdict(not findings, findings)


def gather(repo: Path, base: str, head: str, checks: list[dict[str, Any]]) -> DiffFacts:
    commits = git.commits_between(repo, base, head)
    files = git.files_between(repo, base, head) if commits else []
    diff_lines = 0
    for line in git.out(repo, "diff", "--numstat", base, head).splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            diff_lines += int(parts[0]) + int(parts[1])
    added: list[str] = []
    if commits:
        text = git.out(repo, "diff", "--no-color", "-U0", "--no-ext-diff", base, head)
        for line in text[:MAX_SCAN_BYTES].splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added.append(line[1:])
    return DiffFacts(commits=commits, files=files, added_lines=added, diff_lines=diff_lines,
                     checks=checks)
