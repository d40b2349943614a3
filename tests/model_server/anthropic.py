"""The Anthropic Messages API as Claude Code uses it: streaming SSE and ``count_tokens``.

Events in the order the real API sends them: ``message_start``, then per content block
``content_block_start`` / ``content_block_delta`` (``text_delta`` or ``input_json_delta``) /
``content_block_stop``, then ``message_delta`` with the ``stop_reason`` and output usage, and
``message_stop``. Non-streaming requests get the same message as one JSON object.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from model_server.script import Turn


def first_user_text(body: dict[str, Any]) -> str:
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def assistant_turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the CLI sent back in its latest user message (for assertions)."""
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1].get("content"), list):
        return []
    return [b for b in messages[-1]["content"] if isinstance(b, dict)
            and b.get("type") == "tool_result"]


def _blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.tools:
        blocks.append({"type": "tool_use", "id": call.call_id("toolu"), "name": call.name,
                       "input": call.input})
    return blocks


def message(turn: Turn, model: str, msg_id: str) -> dict[str, Any]:
    return {"id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": _blocks(turn), "stop_reason": turn.stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens}}


def _chunks(text: str, size: int = 40) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def events(turn: Turn, model: str, msg_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    start = message(turn, model, msg_id) | {"content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": turn.input_tokens, "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(_blocks(turn)):
        if block["type"] == "text":
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}}
            for piece in _chunks(block["text"]):
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": piece}}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {**block, "input": {}}}
            for piece in _chunks(json.dumps(block["input"])):
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": piece}}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                            "usage": {"output_tokens": turn.output_tokens}}
    yield "message_stop", {"type": "message_stop"}


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def count_tokens(body: dict[str, Any]) -> dict[str, Any]:
    """A stable estimate: four characters a token, like the CLIs' own fallback."""
    return {"input_tokens": max(1, len(json.dumps(body.get("messages") or [])) // 4)}
