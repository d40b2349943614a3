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
  AGENT_WAIT_FOR=path                then wait until path exists (printing every tick), so a
                                     test decides when the agent finishes
  AGENT_LOG=path                     append {"task", "start", "end"} JSON lines
  AGENT_SAY=text                     print this text verbatim as (the start of) the final
                                     message: a plan or a verdict for a read-only run
  AGENT_SAY_FILE=path                ... the same, read from a file
  AGENT_STATUS=json                  print a fenced shiftctl block with this JSON
  AGENT_EXIT=code                    exit code
  AGENT_DUMP_ENV=path                write its environment and /proc/self/environ there
  AGENT_ECHO_PROMPT=path             copy the prompt there
  AGENT_RUNS=path                    count this agent's runs in that file; then AGENT_X_<n>
                                     replaces AGENT_X in the n-th run (1-based), e.g.
                                     AGENT_SAY_1=not json, AGENT_SAY_2=```json {...}```
  AGENT_FORMAT=opencode              speak `opencode run --format json` (for profiles of kind
                                     opencode, argv [python, scripted.py]): the prompt comes
                                     on stdin, the worktree is the cwd, and the output is
                                     opencode's JSON events: the final message as a `text`
                                     part, AGENT_BILL as a `step_finish` part's tokens and
                                     cost (not in the status block), AGENT_ERROR as an `error`
                                     event (a provider's message, e.g. a rate limit)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

env = dict(os.environ)
if env.get("AGENT_RUNS"):  # per-run behaviour: AGENT_X_<n> replaces AGENT_X in run n
    counter = Path(env["AGENT_RUNS"])
    n = int(counter.read_text() or "0") + 1 if counter.exists() else 1
    counter.write_text(str(n))
    for name, value in list(env.items()):
        base, _, suffix = name.rpartition("_")
        if name.startswith("AGENT_") and suffix == str(n):
            env[base] = value

opencode = env.get("AGENT_FORMAT") == "opencode"
if opencode:
    prompt, worktree = sys.stdin.read(), Path.cwd()
else:
    prompt_file, worktree = Path(sys.argv[1]), Path(sys.argv[2])
    prompt = prompt_file.read_text()
start = time.time()
task = next((line.split(":", 1)[1].strip() for line in prompt.splitlines()
             if line.startswith("# Your task:")), "?")

if env.get("AGENT_ECHO_PROMPT"):
    with open(env["AGENT_ECHO_PROMPT"], "a") as fh:
        fh.write(prompt + "\n=====\n")
if env.get("AGENT_DUMP_ENV"):
    Path(env["AGENT_DUMP_ENV"]).write_text(
        json.dumps(dict(os.environ)) + "\n" + Path("/proc/self/environ").read_bytes()
        .decode("utf-8", "replace"))
writes = list(filter(None, env.get("AGENT_WRITE", "").split(",")))
needle, _, conditional = env.get("AGENT_WRITE_IF", "").partition("=>")
if needle and needle in prompt:  # a known mistake, avoided only when the prompt warns
    writes.append(conditional)
for spec in writes:
    rel, _, text = spec.partition(":")
    target = worktree / rel.replace("{task}", task.split()[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.replace("{task}", task) + "\n")
sleep = float(env.get("AGENT_SLEEP", "0"))
once = env.get("AGENT_SLEEP_ONCE")
if once:  # sleep only on the first attempt
    sleep = 0.0 if Path(once).exists() else sleep
    Path(once).write_text(str(os.getpid()))
tick = float(env.get("AGENT_TICK", "0"))
deadline = time.time() + sleep
while time.time() < deadline:
    time.sleep(min(tick or sleep, max(0.0, deadline - time.time())))
    if tick:
        print("working...", flush=True)
gate = env.get("AGENT_WAIT_FOR")
while gate and not Path(gate).exists():
    time.sleep(tick or 0.05)
    if tick:
        print(f"waiting for {Path(gate).name}...", flush=True)
if env.get("AGENT_COMMIT"):
    subprocess.run(["git", "add", "-A"], cwd=worktree, check=True)
    subprocess.run(["git", "commit", "-qm", f"agent: {task}"], cwd=worktree, check=True)
if env.get("AGENT_LOG"):
    with open(env["AGENT_LOG"], "a") as fh:
        fh.write(json.dumps({"task": task, "start": start, "end": time.time()}) + "\n")

final = env.get("AGENT_SAY", "")
if env.get("AGENT_SAY_FILE"):
    final += Path(env["AGENT_SAY_FILE"]).read_text()
status = env.get("AGENT_STATUS", "")  # printed as given: it may be malformed on purpose
tokens_in = len(prompt) // 4
cost = round(tokens_in * float(env.get("AGENT_BILL") or 0) / 1e6, 6)
if env.get("AGENT_LEARN") or (env.get("AGENT_BILL") and not opencode):
    block = json.loads(status) if status else {"status": "done", "summary": f"did {task}"}
    if env.get("AGENT_LEARN"):
        block["learnings"] = [env["AGENT_LEARN"]]
    if env.get("AGENT_BILL") and not opencode:
        block["tokens_in"], block["cost_usd"] = tokens_in, cost
    status = json.dumps(block)
if status:
    final += ("\n\n" if final else "All done.\n\n") + "```shiftctl\n" + status + "\n```"
if not opencode:
    if final:
        print(final)
else:
    events = [{"type": "text", "sessionID": "ses_scripted", "part": {"text": final}}]
    if env.get("AGENT_BILL"):
        events.append({"type": "step_finish", "sessionID": "ses_scripted",
                       "part": {"tokens": {"input": tokens_in, "output": 0}, "cost": cost}})
    if env.get("AGENT_ERROR"):
        events.append({"type": "error", "sessionID": "ses_scripted",
                       "error": {"name": "APIError", "data": {"message": env["AGENT_ERROR"]}}})
    for event in events:
        print(json.dumps(event))
sys.exit(int(env.get("AGENT_EXIT", "0")))
