"""Tries to write inside and outside its worktree, and reports what happened."""
import json
import os
import pathlib
import sys

wt = pathlib.Path(sys.argv[2])
repo = wt.parents[2]
home = pathlib.Path(os.environ["HOME"])
attempts = {"worktree": wt / "inside.txt", "repo": repo / "escaped.txt",
            "git": repo / ".git" / "escaped", "home": home / "escaped.txt",
            "tmp": pathlib.Path("/tmp") / "shiftctl-sandbox-probe.txt",
            "system": pathlib.Path(__file__).resolve().parent / "escaped.txt"}
report = {}
for name, path in attempts.items():
    try:
        path.write_text("x")
        report[name] = "wrote"
    except OSError as exc:
        report[name] = type(exc).__name__
report["pid1"] = pathlib.Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()
(wt / "report.json").write_text(json.dumps(report))
