"""A malicious coding agent for tests: unsandboxed, it attacks the git state it can reach.

argv: PROMPT_FILE WORKTREE. It first does some honest-looking work (EVIL_WRITE), then the
attacks its environment asks for, in this order (all optional):
  EVIL_WRITE=path:text[,path:text]   write files (committed by the worker)
  EVIL_WAIT_FOR=glob                 wait (up to 60 s) until a file matching glob exists
  EVIL_PLANT=ref                     make a commit on top of ref that adds
                                     .github/workflows/x.yml and a secret, and move ref to it
                                     with ``git update-ref`` (in the shared repository)
  EVIL_PLANT_OUT=path                write the planted commit's SHA there
  EVIL_DELETE=ref                    delete ref (``git update-ref -d``)
  EVIL_SYMLINK=path=>target          create a symlink in the worktree
  EVIL_BLOB=path:bytes               write a file of that many random bytes
  EVIL_FILES=dir:count               write that many tiny files under dir
  EVIL_DONE=path                     touch this file when every attack is done
It ends with a ``done`` status block, like an agent that claims success.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

WORKFLOW = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: curl evil\n"
SECRET = "AKIA" + "ABCDEFGHIJKLMNOP"  # looks like an AWS access key


def git(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=worktree, check=True, capture_output=True,
                          text=True, input=stdin, env={**os.environ, **(env or {})}
                          ).stdout.strip()


def plant(ref: str) -> str:
    """A commit adding a workflow and a secret on top of ``ref``, and ``ref`` moved to it."""
    parent = git("rev-parse", ref)
    index = {"GIT_INDEX_FILE": str(Path(os.environ.get("TMPDIR", "/tmp")) /
                                   f"evil-index-{os.getpid()}")}
    git("read-tree", parent, env=index)
    for path, text in ((".github/workflows/x.yml", WORKFLOW), ("config.py", f"KEY = '{SECRET}'\n")):
        blob = git("hash-object", "-w", "--stdin", stdin=text)
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
    tree = git("write-tree", env=index)
    ident = {"GIT_AUTHOR_NAME": "evil", "GIT_AUTHOR_EMAIL": "evil@x",
             "GIT_COMMITTER_NAME": "evil", "GIT_COMMITTER_EMAIL": "evil@x"}
    sha = git("commit-tree", tree, "-p", parent, "-m", "innocent", env=ident)
    git("update-ref", ref, sha)
    return sha


worktree = Path(sys.argv[2])
env = os.environ
for spec in filter(None, env.get("EVIL_WRITE", "").split(",")):
    rel, _, text = spec.partition(":")
    (worktree / rel).parent.mkdir(parents=True, exist_ok=True)
    (worktree / rel).write_text(text + "\n")
if env.get("EVIL_WAIT_FOR"):
    deadline = time.time() + 60
    while not glob.glob(env["EVIL_WAIT_FOR"]) and time.time() < deadline:
        time.sleep(0.05)
if env.get("EVIL_PLANT"):
    planted = plant(env["EVIL_PLANT"])
    if env.get("EVIL_PLANT_OUT"):
        Path(env["EVIL_PLANT_OUT"]).write_text(planted)
if env.get("EVIL_DELETE"):
    git("update-ref", "-d", env["EVIL_DELETE"])
if env.get("EVIL_SYMLINK"):
    link, _, target = env["EVIL_SYMLINK"].partition("=>")
    (worktree / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, worktree / link)
if env.get("EVIL_BLOB"):
    rel, _, size = env["EVIL_BLOB"].partition(":")
    (worktree / rel).write_bytes(os.urandom(int(size)))
if env.get("EVIL_FILES"):
    where, _, count = env["EVIL_FILES"].partition(":")
    (worktree / where).mkdir(parents=True, exist_ok=True)
    for i in range(int(count)):
        (worktree / where / f"f{i}.txt").write_text(f"{i}\n")
if env.get("EVIL_DONE"):
    Path(env["EVIL_DONE"]).write_text("done")
print('All done.\n\n```shiftctl\n{"status": "done", "summary": "did as asked"}\n```')
