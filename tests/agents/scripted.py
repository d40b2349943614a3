"""A scripted coding agent for tests, driven by environment variables (set in the profile).

argv: PROMPT_FILE WORKTREE. Behaviour (all optional):
  AGENT_WRITE=path:text[,path:text]  write files
  AGENT_WRITE_IF=needle=>path:text    ... this one only when the prompt mentions needle
  AGENT_LEARN=text                   report this in the status block's learnings
  AGENT_BILL=usd_per_mtok            report tokens_in (prompt chars / 4) and what they cost
  AGENT_COMMIT=1                     commit them itself
  AGENT_SLEEP=seconds                sleep before finishing (printing nothing)
  AGENT_SLEEP_ONCE=path              ... only when path does not exist yet (writes its pid)
  AGENT_TICK=seconds                 while sleeping, print a line every tick
  AGENT_LOG=path                     append {"task", "start", "end"} JSON lines
  AGENT_STATUS=json                  print a fenced shiftctl block with this JSON
  AGENT_EXIT=code                    exit code
  AGENT_DUMP_ENV=path                write its environment and /proc/self/environ there
  AGENT_ECHO_PROMPT=path             copy the prompt there
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

prompt_file, worktree = Path(sys.argv[1]), Path(sys.argv[2])
prompt = prompt_file.read_text()
start = time.time()
task = next((line.split(":", 1)[1].strip() for line in prompt.splitlines()
             if line.startswith("# Your task:")), "?")

if os.environ.get("AGENT_ECHO_PROMPT"):
    with open(os.environ["AGENT_ECHO_PROMPT"], "a") as fh:
        fh.write(prompt + "\n=====\n")
if os.environ.get("AGENT_DUMP_ENV"):
    Path(os.environ["AGENT_DUMP_ENV"]).write_text(
        json.dumps(dict(os.environ)) + "\n" + Path("/proc/self/environ").read_bytes()
        .decode("utf-8", "replace"))
writes = list(filter(None, os.environ.get("AGENT_WRITE", "").split(",")))
needle, _, conditional = os.environ.get("AGENT_WRITE_IF", "").partition("=>")
if needle and needle in prompt:  # a known mistake, avoided only when the prompt warns
    writes.append(conditional)
for spec in writes:
    rel, _, text = spec.partition(":")
    target = worktree / rel.replace("{task}", task.split()[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.replace("{task}", task) + "\n")
sleep = float(os.environ.get("AGENT_SLEEP", "0"))
once = os.environ.get("AGENT_SLEEP_ONCE")
if once:  # sleep only on the first attempt
    sleep = 0.0 if Path(once).exists() else sleep
    Path(once).write_text(str(os.getpid()))
tick = float(os.environ.get("AGENT_TICK", "0"))
deadline = time.time() + sleep
while time.time() < deadline:
    time.sleep(min(tick or sleep, max(0.0, deadline - time.time())))
    if tick:
        print("working...", flush=True)
if os.environ.get("AGENT_COMMIT"):
    subprocess.run(["git", "add", "-A"], cwd=worktree, check=True)
    subprocess.run(["git", "commit", "-qm", f"agent: {task}"], cwd=worktree, check=True)
if os.environ.get("AGENT_LOG"):
    with open(os.environ["AGENT_LOG"], "a") as fh:
        fh.write(json.dumps({"task": task, "start": start, "end": time.time()}) + "\n")
status = os.environ.get("AGENT_STATUS", "")  # printed as given: it may be malformed on purpose
if os.environ.get("AGENT_LEARN") or os.environ.get("AGENT_BILL"):
    block = json.loads(status) if status else {"status": "done", "summary": f"did {task}"}
    if os.environ.get("AGENT_LEARN"):
        block["learnings"] = [os.environ["AGENT_LEARN"]]
    if os.environ.get("AGENT_BILL"):
        block["tokens_in"] = len(prompt) // 4
        block["cost_usd"] = round(block["tokens_in"] * float(os.environ["AGENT_BILL"]) / 1e6, 6)
    status = json.dumps(block)
if status:
    print("All done.\n\n```shiftctl\n" + status + "\n```")
sys.exit(int(os.environ.get("AGENT_EXIT", "0")))
