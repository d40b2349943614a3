"""An agent that tries to outlive its stop: it double-forks a ``setsid`` child (its own
session and group, an orphan handed to whoever reaps orphans) that sleeps and then writes a
marker file, prints a last line, and sleeps itself so that it must be stopped.

argv: PROMPT_FILE WORKTREE. ESCAPE_MARKER=path (written by the escaped child after
ESCAPE_DELAY seconds, default 3), ESCAPE_PIDFILE=path (the child's pid, written at once),
ESCAPE_SLEEP=seconds the agent itself sleeps (default 60).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

marker = Path(os.environ["ESCAPE_MARKER"])
pidfile = Path(os.environ["ESCAPE_PIDFILE"])
delay = float(os.environ.get("ESCAPE_DELAY", "3"))

if os.fork() == 0:  # the intermediate child: a new session, then fork again and leave
    os.setsid()
    if os.fork() == 0:  # the escaped grandchild: no parent link back to the agent
        pidfile.write_text(str(os.getpid()))
        os.closerange(0, 3)
        time.sleep(delay)
        marker.write_text("escaped\n")
        os._exit(0)
    os._exit(0)
os.wait()
while not pidfile.exists():
    time.sleep(0.01)
print("escaper: child started, now working", flush=True)
sys.stdout.flush()
time.sleep(float(os.environ.get("ESCAPE_SLEEP", "60")))
