"""Git config and hooks an agent could plant to run its code in shiftctl's processes.

Each attack names a program (``payload``) that, when anything runs it, leaves a mark file
holding its environment: a test asserts no mark appears under shiftctl's git, and (the
control) that plain git does run it, so the attack is real.
"""
from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from support.repos import git

PAYLOAD = """#!/bin/sh
env > "{marks}/ran.$$"
exit 0
"""

HOOKS = ("post-checkout", "post-merge", "pre-merge-commit", "reference-transaction",
         "post-index-change", "prepare-commit-msg", "commit-msg", "pre-commit", "post-commit",
         "post-rewrite", "pre-push")
# every kind of program-running setting, as `git config` keys (the payload's path fills in)
CONFIG = {
    "fsmonitor": {"core.fsmonitor": "{payload}"},
    "filter-clean": {"filter.evil.clean": "{payload}"},
    "filter-smudge": {"filter.evil.smudge": "{payload}"},
    "filter-process": {"filter.evil.process": "{payload}", "filter.evil.required": "true"},
    "textconv": {"diff.evil.textconv": "{payload}"},
    "diff-external": {"diff.external": "{payload}"},
    "diff-command": {"diff.evil.command": "{payload}"},
    "merge-driver": {"merge.evil.driver": "{payload} %O %A %B"},
    "ssh-command": {"core.sshCommand": "{payload}"},
    "pager": {"core.pager": "{payload}", "pager.log": "{payload}"},
    "editor": {"core.editor": "{payload}", "sequence.editor": "{payload}"},
    "gpg": {"commit.gpgSign": "true", "gpg.program": "{payload}"},
    "credential": {"credential.helper": "!{payload}"},
    "askpass": {"core.askPass": "{payload}"},
}
KINDS = ("hooks", *CONFIG, "core-worktree", "include")
ATTRIBUTES = "* filter=evil diff=evil merge=evil\n"


def payload(base: Path) -> tuple[Path, Path]:
    """(the payload program, the directory its marks go to)."""
    marks = base / "marks"
    marks.mkdir(parents=True, exist_ok=True)
    script = base / "payload.sh"
    script.write_text(PAYLOAD.format(marks=marks))
    script.chmod(0o755)
    return script, marks


def ran(marks: Path) -> list[str]:
    """The environments of every run of the payload (or of a planted hook) so far."""
    return [p.read_text() for p in sorted(marks.glob("ran.*"))]


def hooks_ran(marks: Path) -> set[str]:
    return {p.name.split(".")[1].removeprefix("hook-") for p in marks.glob("ran.hook-*")}


def plant_hooks(hooks: Path, marks: Path) -> None:
    hooks.mkdir(parents=True, exist_ok=True)
    for name in HOOKS:
        hook = hooks / name
        hook.write_text(f'#!/bin/sh\nenv > "{marks}/ran.hook-{name}.$$"\nexit 0\n')
        hook.chmod(0o755)


def plant(kind: str, repo: Path, script: Path, decoy: Path) -> None:
    """Plant ``kind`` in ``repo``'s shared git dir, as an unsandboxed agent can."""
    common = repo / ".git"
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "attributes").write_text(ATTRIBUTES)
    if kind == "hooks":
        plant_hooks(common / "hooks", script.parent / "marks")
    elif kind == "core-worktree":  # git would work (reset, clean) in the decoy instead
        git(repo, "config", "--file", str(common / "config"), "core.worktree", str(decoy))
    elif kind == "include":  # the filter hides in a file the config only names
        extra = decoy.parent / "included.cfg"
        extra.write_text(f'[filter "evil"]\n\tclean = {script}\n\tsmudge = {script}\n')
        git(repo, "config", "--file", str(common / "config"), "include.path", str(extra))
    else:
        for key, value in CONFIG[kind].items():
            git(repo, "config", "--file", str(common / "config"), key,
                value.format(payload=script))


def in_tty(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 20) -> None:
    """Run with a terminal as stdout: where git would start a pager."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=slave)
        os.close(slave)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
