"""The OpenAI Responses API as Codex uses it: streaming SSE on ``POST /v1/responses``.

Events in the order the real API sends them: ``response.created``, ``response.in_progress``,
then per output item ``response.output_item.added``, its deltas and ``.done`` events and
``response.output_item.done``, and last ``response.completed`` carrying ``usage``. Codex
builds its history from the ``output_item.done`` items and retries a stream that ends
without ``response.completed``, so both must be right.

Scripted calls map onto the tools codex 0.169 runs: ``tool("exec_command", cmd="...")``
becomes a ``function_call`` with JSON arguments, ``tool("apply_patch", input=PATCH)`` (and
code mode's ``tool("exec", input=JS)``) a ``custom_tool_call`` with raw text, because Codex
declares those two as freeform tools. Codex dispatches ``exec_command`` and ``apply_patch``
even when the model (the default ``gpt-6.1-sol``) only declares the code-mode ``exec``.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from model_server.script import Fault, ToolCall, Turn

# Items a model turn leaves in the history Codex sends back; anything else (user and
# developer messages, tool outputs) closes that turn.
_MODEL_ITEMS = {"function_call", "custom_tool_call", "local_shell_call", "reasoning",
                "web_search_call", "tool_search_call", "image_generation_call"}
# Tools Codex declares as ``type: custom``: called with raw text, not JSON arguments.
_FREEFORM = {"apply_patch", "exec"}


def _input(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("input")
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    return [i for i in items or [] if isinstance(i, dict)]


def _is_model_item(item: dict[str, Any]) -> bool:
    kind = item.get("type", "message")
    return item.get("role") == "assistant" if kind == "message" else kind in _MODEL_ITEMS


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text", "")) for p in content or []
                     if isinstance(p, dict) and p.get("type") in ("input_text", "output_text"))


def first_user_text(body: dict[str, Any]) -> str:
    """All user text before the first model item. Codex sends ``<environment_context>``
    (cwd, shell, sandbox) and AGENTS.md as user messages of their own ahead of the prompt,
    so the prompt is not the first one; joined, the cwd is matchable as with Claude."""
    parts: list[str] = []
    for item in _input(body):
        if _is_model_item(item):
            break
        if item.get("type", "message") == "message" and item.get("role") == "user":
            parts.append(_text_of(item.get("content")))
    return "\n".join(parts)


def assistant_turns(body: dict[str, Any]) -> int:
    """Runs of consecutive model items in ``input``: one turn comes back as its message
    and all its calls in a row (then their outputs), so count runs, not items."""
    turns, inside = 0, False
    for item in _input(body):
        model = _is_model_item(item)
        turns += model and not inside
        inside = model
    return turns


def tool_outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool outputs Codex sent back after the latest model turn (for assertions):
    ``function_call_output`` / ``custom_tool_call_output`` items with ``output``."""
    out: list[dict[str, Any]] = []
    for item in reversed(_input(body)):
        if _is_model_item(item):
            break
        if str(item.get("type", "")).endswith("_output"):
            out.append(item)
    return out[::-1]


def error_body(fault: Fault) -> dict[str, Any]:
    """OpenAI's error shape. A fault body already in that shape (has ``error.code``, e.g.
    ``insufficient_quota``) goes out as is; otherwise type and code follow the status."""
    inner = (fault.body or {}).get("error") or {}
    if "code" in inner:
        return fault.body or {}
    if fault.status == 429:
        kind, code = "requests", "rate_limit_exceeded"
        message = "Rate limit reached for requests. Please try again later."
    elif fault.status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
        message = ("Incorrect API key provided: sk-test-***. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.")
        inner = {}  # OpenAI's own words, not the Anthropic body the fault carries
    elif fault.status >= 500:
        kind, code = "server_error", "server_error"
        message = "The server had an error while processing your request."
    else:
        kind, code, message = "invalid_request_error", None, f"HTTP {fault.status}"
    return {"error": {"message": inner.get("message") or message, "type": kind,
                      "param": None, "code": code}}


def _call_item(call: ToolCall) -> dict[str, Any]:
    call_id = call.call_id("call")
    if call.name in _FREEFORM:
        return {"type": "custom_tool_call", "id": f"ctc_{call_id}", "status": "completed",
                "call_id": call_id, "name": call.name, "input": str(call.input.get("input", ""))}
    return {"type": "function_call", "id": f"fc_{call_id}", "status": "completed",
            "call_id": call_id, "name": call.name, "arguments": json.dumps(call.input)}


def output(turn: Turn, resp_id: str) -> list[dict[str, Any]]:
    """The finished output items: the text as one assistant message, then the calls."""
    items: list[dict[str, Any]] = []
    if turn.text:
        items.append({"type": "message", "id": f"msg_{resp_id}", "status": "completed",
                      "role": "assistant",
                      "content": [{"type": "output_text", "text": turn.text,
                                   "annotations": []}]})
    items.extend(_call_item(call) for call in turn.tools)
    return items


def _response(model: str, resp_id: str, items: list[dict[str, Any]],
              usage: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": resp_id, "object": "response", "created_at": int(time.time()),
            "status": "completed" if usage else "in_progress", "model": model,
            "output": items, "usage": usage, "error": None}


def _chunks(text: str, size: int = 40) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _item_events(item: dict[str, Any], index: int) -> Iterator[tuple[str, dict[str, Any]]]:
    at = {"item_id": item["id"], "output_index": index}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        yield "response.output_item.added", {"output_index": index,
                                             "item": item | {"status": "in_progress",
                                                             "content": []}}
        yield "response.content_part.added", at | {"content_index": 0, "part": part}
        for piece in _chunks(text):
            yield "response.output_text.delta", at | {"content_index": 0, "delta": piece}
        yield "response.output_text.done", at | {"content_index": 0, "text": text}
        yield "response.content_part.done", at | {"content_index": 0,
                                                  "part": part | {"text": text}}
    else:
        field, event = (("arguments", "response.function_call_arguments")
                        if item["type"] == "function_call"
                        else ("input", "response.custom_tool_call_input"))
        yield "response.output_item.added", {"output_index": index,
                                             "item": item | {"status": "in_progress",
                                                             field: ""}}
        for piece in _chunks(item[field]):
            yield f"{event}.delta", at | {"delta": piece}
        yield f"{event}.done", at | {field: item[field]}
    yield "response.output_item.done", {"output_index": index, "item": item}


def events(turn: Turn, model: str, resp_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "response.created", {"response": _response(model, resp_id, [], None)}
    yield "response.in_progress", {"response": _response(model, resp_id, [], None)}
    items = output(turn, resp_id)
    for index, item in enumerate(items):
        yield from _item_events(item, index)
    usage = {"input_tokens": turn.input_tokens,
             "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": turn.output_tokens,
             "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": turn.input_tokens + turn.output_tokens}
    yield "response.completed", {"response": _response(model, resp_id, items, usage)}


def stream(turn: Turn, model: str, resp_id: str) -> Iterator[bytes]:
    """SSE frames, each data object carrying ``type`` and ``sequence_number`` as the real
    API's do."""
    for seq, (name, data) in enumerate(events(turn, model, resp_id)):
        payload = {"type": name, "sequence_number": seq, **data}
        yield f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
