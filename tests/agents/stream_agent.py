"""A fake Claude Code for tests of live progress: speaks ``claude -p --output-format
stream-json`` (the prompt on stdin, the worktree as cwd), reporting usage as it goes.

  STREAM_SLEEP=seconds   pause after the first assistant message (the worker is "running")
  STREAM_COST=usd        total_cost_usd of the result event (default 0.005)
It writes ``stream.txt`` in the worktree and ends with a result event of 2 turns.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def say(event: dict[str, object]) -> None:
    print(json.dumps(event), flush=True)


sys.stdin.read()
say({"type": "system", "subtype": "init", "session_id": "s1", "model": "fake"})
say({"type": "assistant", "message": {
    "usage": {"input_tokens": 1000, "cache_read_input_tokens": 200, "output_tokens": 300},
    "content": [{"type": "text", "text": "Running the tests first."},
                {"type": "tool_use", "name": "Bash", "input": {"command": "pytest -q"}}]}})
time.sleep(float(os.environ.get("STREAM_SLEEP", "0")))
Path("stream.txt").write_text("streamed\n")
say({"type": "assistant", "message": {"usage": {"input_tokens": 500, "output_tokens": 100},
                                      "content": [{"type": "text", "text": "Done."}]}})
say({"type": "result", "subtype": "success", "is_error": False, "num_turns": 2,
     "result": "Wrote stream.txt.", "total_cost_usd": float(os.environ.get("STREAM_COST",
                                                                         "0.005")),
     "usage": {"input_tokens": 1700, "output_tokens": 400}})
