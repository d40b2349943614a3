"""What an agent's stream reported so far, as the heartbeat carries it: counted from each
message (not only the final result), activity on one printable line."""
from __future__ import annotations

import json

from shiftctl.admin.cli.progress import line
from shiftctl.admin.steps.collect import turns
from shiftctl.worker.agents import claude, codex
from shiftctl.worker.progress import Progress


def feed(stream: claude.Stream | codex.Stream, *events: dict[str, object]) -> None:
    for event in events:
        stream.feed(json.dumps(event))


def test_claude_progress_counts_each_message_and_names_the_tool() -> None:
    s = claude.Stream()
    feed(s, {"type": "assistant", "message": {
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3},
        "content": [{"type": "tool_use", "name": "Edit", "input": {"file_path": "a.py"}}]}})
    assert (s.progress.tokens_in, s.progress.tokens_out, s.progress.turns) == (15, 3, 1)
    assert s.progress.activity == "Edit: a.py"
    feed(s, {"type": "assistant", "message": {"usage": {"output_tokens": 2},
                                              "content": [{"type": "text", "text": "ok\nmore"}]}},
         {"type": "result", "total_cost_usd": 0.005, "num_turns": 4})
    assert (s.progress.tokens_out, s.progress.turns, s.progress.cost_usd) == (5, 4, 0.005)
    assert s.progress.activity == "ok"


def test_codex_progress_takes_the_turn_usage_and_commands() -> None:
    s = codex.Stream()
    feed(s, {"type": "item.completed", "item": {"type": "command_execution",
                                                "command": "make test"}},
         {"type": "turn.completed", "usage": {"input_tokens": 100, "output_tokens": 7}})
    assert (s.progress.tokens_in, s.progress.tokens_out, s.progress.turns) == (100, 7, 1)
    assert s.progress.activity == "command_execution: make test"


def test_activity_is_one_printable_bounded_line() -> None:
    p = Progress()
    p.note("\n\x1b]0;pwned\x07\x1b[2J" + "y" * 500 + "\nsecond")
    assert "\x1b" not in p.activity and "\x07" not in p.activity
    assert len(p.activity) == 160 and p.activity.endswith("…")
    p.note("   ")
    assert p.activity.endswith("…")  # blank output leaves the last activity


def test_turns_come_from_the_reported_count_only_when_sane() -> None:
    assert turns({"num_turns": 3}) == 3 and turns({"turns": 2}) == 2
    assert turns({"num_turns": True, "turns": -1}) == 0 and turns({}) == 0


def test_a_progress_line_shows_task_time_tokens_cost_and_activity() -> None:
    w = {"task": "3-t1", "issue": 3, "kind": "work", "profile": "claude", "age_s": 125,
         "phase": "agent", "tokens_in": 12_345, "tokens_out": 300, "turns": 2,
         "cost_usd": 0.005, "activity": "Bash: pytest -q"}
    assert line(w) == ("3-t1      claude  2m05s  agent  12.3k/300 tok  2 turns  $0.005  "
                       "Bash: pytest -q")
