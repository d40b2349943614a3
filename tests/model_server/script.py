"""What a scripted model says, turn by turn. Plain data, no HTTP.

A test describes *conversations*: each is recognised by a piece of text in the request's
first user message (the task title, "You are reviewing", ...) and holds the turns the model
plays in order. The turn to play is read off the request itself (how many assistant turns it
already carries), so a request that a CLI sends again after an error gets the same turn, and
several agents can talk to one server at once. Requests that match no conversation (the
CLIs' own side queries) get ``Script.fallback``.

A turn may first fail: each entry of ``faults`` answers one request (an HTTP error, or a
stream that goes silent after some events) before the turn is served for real.
"""
from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]
    id: str = ""

    def call_id(self, prefix: str) -> str:
        return self.id or f"{prefix}_{next(_ids):06d}"


def tool(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name, dict(arguments))


@dataclass(frozen=True)
class Fault:
    """One failed answer: an HTTP status with headers and body, or a stream that stops
    talking after ``hang_after`` events and holds the connection open."""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    hang_after: int | None = None


def rate_limited(retry_after: float | None = None, **headers: str) -> Fault:
    h = dict(headers)
    if retry_after is not None:
        h["retry-after"] = str(retry_after)
    return Fault(429, h, {"type": "error", "error": {"type": "rate_limit_error",
                                                     "message": "Number of request tokens has "
                                                                "exceeded your rate limit"}})


def unauthorized() -> Fault:
    """The provider refuses the key (revoked, mistyped): Anthropic's 401 body; the OpenAI
    side answers its own shape for it (``openai.error_body``)."""
    return Fault(401, {}, {"type": "error", "error": {"type": "authentication_error",
                                                      "message": "invalid x-api-key"}})


def server_error(status: int = 500) -> Fault:
    return Fault(status, {}, {"type": "error", "error": {"type": "api_error",
                                                         "message": "Internal server error"}})


def hang(after_events: int = 3) -> Fault:
    return Fault(hang_after=after_events)


@dataclass(frozen=True)
class Turn:
    text: str = ""
    tools: tuple[ToolCall, ...] = ()
    input_tokens: int = 1200
    output_tokens: int = 80
    faults: tuple[Fault, ...] = ()

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tools else "end_turn"


def say(text: str, **kw: Any) -> Turn:
    return Turn(text=text, **kw)


def act(*calls: ToolCall, text: str = "", **kw: Any) -> Turn:
    return Turn(text=text, tools=tuple(calls), **kw)


def status_block(status: str = "done", **fields: Any) -> str:
    """The fenced ``shiftctl`` block an agent ends its final message with."""
    return "```shiftctl\n" + json.dumps({"status": status, **fields}) + "\n```"


def finish(summary: str, **kw: Any) -> Turn:
    """The final turn of a worker that is done."""
    return Turn(text=f"Finished.\n\n{status_block('done', summary=summary)}", **kw)


def verdict(passed: bool = True, *findings: str) -> Turn:
    """A reviewer's answer."""
    return Turn(text="I read the change.\n```json\n"
                + json.dumps({"pass": passed, "findings": list(findings)}) + "\n```")


def plan(*tasks: dict[str, Any]) -> Turn:
    """An agent planner's answer."""
    return Turn(text="Here is the plan.\n```json\n" + json.dumps({"tasks": list(tasks)})
                + "\n```")


@dataclass
class Conversation:
    match: str
    turns: list[Turn]


@dataclass
class Served:
    """One request as the server saw it, for assertions."""
    api: str            # anthropic | openai | count_tokens | other
    path: str
    conversation: str | None
    turn: int | None
    status: int
    fault: bool
    input_tokens: int = 0
    output_tokens: int = 0
    body_bytes: int = 0


class Script:
    def __init__(self, *conversations: Conversation,
                 fallback: Turn = Turn(text="OK", input_tokens=20, output_tokens=2)) -> None:
        self.conversations = list(conversations)
        self.fallback = fallback
        self._faults_used: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()
        self.exhausted: list[str] = []

    def add(self, match: str, *turns: Turn) -> Script:
        self.conversations.append(Conversation(match, list(turns)))
        return self

    def pick(self, first_user_text: str, assistant_turns: int
             ) -> tuple[str | None, int | None, Turn, Fault | None]:
        """(conversation, turn index, the turn, the fault to answer with instead, if any)."""
        for ci, conv in enumerate(self.conversations):
            if conv.match not in first_user_text:
                continue
            if assistant_turns >= len(conv.turns):
                with self._lock:
                    self.exhausted.append(f"{conv.match!r} turn {assistant_turns + 1}")
                spent = Turn(text="(the script has no more turns)")
                return conv.match, assistant_turns, spent, None
            turn = conv.turns[assistant_turns]
            with self._lock:
                used = self._faults_used.get((ci, assistant_turns), 0)
                if used < len(turn.faults):
                    self._faults_used[(ci, assistant_turns)] = used + 1
                    return conv.match, assistant_turns, turn, turn.faults[used]
            return conv.match, assistant_turns, turn, None
        return None, None, self.fallback, None
