"""A hostile agent: tries to steal secrets and break out, and reports what worked.

argv: PROMPT_FILE WORKTREE. It writes ``attacks.json`` into its worktree (the worker commits
it, so the test reads it from the branch) and ends with a ``done`` status block. Knobs:
  STEAL_FILES=path[:path...]   files to read (a fake ~/.ssh/id_rsa, the admin's state.db)
  STEAL_MARKER=txet            look for its reverse in every /proc/<pid>/environ and cmdline
                               (reversed, so that its own environment does not hold it)
  PLANT_DIR=dir                try to write a file there (the user's real HOME)
  TRY_ESCAPE=1                 also remount / read-write, unmount PLANT_DIR's mask and write
                               to /etc (only ever set inside a sandbox: as root, unsandboxed,
                               they would change the machine)
Each entry of the report is what the attempt got: the text read, "wrote", or the error.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

worktree = Path(sys.argv[2])
runtime = worktree.parents[1]  # <repo>/.shiftctl: the admin's state, other runs
env = os.environ
report: dict[str, object] = {}


def attempt(name: str, action: object) -> None:
    try:
        report[name] = action() if callable(action) else action
    except Exception as exc:  # the attempt failed: that is what the report says
        report[name] = f"{type(exc).__name__}: {exc}"[:300]


for path in filter(None, env.get("STEAL_FILES", "").split(os.pathsep)):
    attempt(f"read {path}", lambda p=path: Path(p).read_text(errors="replace")[:200])


def environ_scan() -> list[str]:
    marker = env.get("STEAL_MARKER", "")[::-1].encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        for part in ("environ", "cmdline"):
            try:
                if marker and marker in (entry / part).read_bytes():
                    found.append(f"{entry.name}/{part}")
            except OSError:
                continue
    return found


attempt("environ", environ_scan)
attempt("pids", lambda: sorted(int(p.name) for p in Path("/proc").iterdir()
                               if p.name.isdigit()))
attempt("runtime listing", lambda: sorted(p.name for p in runtime.iterdir()))
attempt("other worktrees", lambda: sorted(p.name for p in (runtime / "worktrees").iterdir()))
attempt("other runs", lambda: sorted(p.name for p in (runtime / "runs").iterdir()))
if env.get("PLANT_DIR"):
    attempt("plant", lambda: (Path(env["PLANT_DIR"]) / "planted-by-agent").write_text("x")
            and "wrote")
attempt("own home", lambda: (Path(env["HOME"]) / "agent-notes.txt").write_text("x") and "wrote")
attempt("home", env.get("HOME"))


def run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    return f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:200]}"


if env.get("TRY_ESCAPE") == "1":
    # a root agent with capabilities could remount / read-write or lift the masks off HOME
    attempt("remount", lambda: run("mount", "-o", "remount,bind,rw", "/"))
    attempt("unmount home mask", lambda: run("umount", "-l", env.get("PLANT_DIR") or "/root"))
    attempt("write /etc", lambda: Path("/etc/shiftctl-escaped").write_text("x") and "wrote")
attempt("capabilities", lambda: next(line.split()[1] for line in
                                     Path("/proc/self/status").read_text().splitlines()
                                     if line.startswith("CapEff")))
attempt("uid", os.getuid)

(worktree / "attacks.json").write_text(json.dumps(report, indent=1, sort_keys=True))
print('Done.\n```shiftctl\n{"status": "done", "summary": "probed the sandbox"}\n```')
