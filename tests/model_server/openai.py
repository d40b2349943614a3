"""The OpenAI Responses API as Codex uses it: streaming SSE on ``POST /v1/responses``.

Events in the order the real API sends them: ``response.created``, ``response.in_progress``,
then per output item ``response.output_item.added``, its deltas and ``.done`` events and
``response.output_item.done``, and last ``response.completed`` carrying ``usage``. Codex
builds its history from the ``output_item.done`` items and treats a stream that ends
without ``response.completed`` as a failed attempt, so both must be right.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from model_server.script import Fault, ToolCall, Turn

# Items a model turn leaves in the history Codex sends back; anything else (user or
# developer messages, tool outputs) ends that turn.
_MODEL_ITEMS = {"function_call", "custom_tool_call", "local_shell_call", "reasoning",
                "web_search_call", "tool_search_call", "image_generation_call"}
# Tools Codex declares as freeform (``type: custom``): called with raw text, not JSON.
_FREEFORM_INPUT_KEYS = ("input", "patch")


def _is_model_item(item: dict[str, Any]) -> bool:
    kind = item.get("type", "message")
    return item.get("role") == "assistant" if kind == "message" else kind in _MODEL_ITEMS


def first_user_text(body: dict[str, Any]) -> str:
    """All user text before the first model item: Codex sends its environment context
    (cwd, shell) and AGENTS.md as user messages of their own next to the prompt, so the
    prompt is not necessarily the first one."""
    parts: list[str] = []
    for item in _input(body):
        if _is_model_item(item):
            break
        if item.get("type", "message") == "message" and item.get("role") == "user":
            parts.append(_text_of(item.get("content")))
    return "\n".join(parts)


def _input(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("input")
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    return [i for i in items or [] if isinstance(i, dict)]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text", "")) for p in content or []
                     if isinstance(p, dict) and p.get("type") in ("input_text", "output_text"))


def assistant_turns(body: dict[str, Any]) -> int:
    """Runs of consecutive model items in ``input``: one turn may leave a reasoning item,
    a message and several calls, and the tool outputs Codex adds close the run."""
    turns, inside = 0, False
    for item in _input(body):
        model = _is_model_item(item)
        turns += model and not inside
        inside = model
    return turns


def tool_outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool outputs Codex sent back after the latest model turn (for assertions)."""
    out: list[dict[str, Any]] = []
    for item in reversed(_input(body)):
        if _is_model_item(item):
            break
        if str(item.get("type", "")).endswith("_output"):
            out.append(item)
    return out[::-1]


def error_body(fault: Fault) -> dict[str, Any]:
    """OpenAI's error shape; Codex reads ``error.type``/``code`` and shows ``message``."""
    if fault.status == 429:
        kind, code, message = ("rate_limit_exceeded", "rate_limit_exceeded",
                               "Rate limit reached for requests. Please try again later.")
    elif fault.status >= 500:
        kind, code, message = "server_error", "server_error", "The server had an error."
    else:
        kind, code, message = "invalid_request_error", None, f"HTTP {fault.status}"
    inner = (fault.body or {}).get("error") or {}
    return {"error": {"message": inner.get("message") or message, "type": kind,
                      "param": None, "code": code}}


def _item(call: ToolCall, index: int) -> dict[str, Any]:
    """A scripted call as Codex expects it: ``function_call`` with JSON arguments, or a
    ``custom_tool_call`` with raw text when the script gives a freeform tool (apply_patch)
    a single ``input``/``patch`` string."""
    call_id = call.call_id("call")
    raw = next((call.input[k] for k in _FREEFORM_INPUT_KEYS if k in call.input), None)
    if len(call.input) == 1 and isinstance(raw, str):
        return {"type": "custom_tool_call", "id": f"ctc_{call_id}", "status": "completed",
                "call_id": call_id, "name": call.name, "input": raw}
    return {"type": "function_call", "id": f"fc_{call_id}", "status": "completed",
            "call_id": call_id, "name": call.name, "arguments": json.dumps(call.input)}


def _chunks(text: str, size: int = 40) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def output(turn: Turn, resp_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.text:
        items.append({"type": "message", "id": f"msg_{resp_id}", "status": "completed",
                      "role": "assistant",
                      "content": [{"type": "output_text", "text": turn.text,
                                   "annotations": []}]})
    items.extend(_item(call, i) for i, call in enumerate(turn.tools))
    return items


def _response(turn: Turn, model: str, resp_id: str, status: str,
              items: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": resp_id, "object": "response", "created_at": int(time.time()),
            "status": status, "model": model, "output": items, "usage": usage,
            "parallel_tool_calls": True, "tool_choice": "auto", "error": None}


def events(turn: Turn, model: str, resp_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "response.created", {"response": _response(turn, model, resp_id, "in_progress",
                                                      [], None)}
    yield "response.in_progress", {"response": _response(turn, model, resp_id,
                                                          "in_progress", [], None)}
    items = output(turn, resp_id)
    for index, item in enumerate(items):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield "response.output_item.added", {"output_index": index,
                                                 "item": item | {"status": "in_progress",
                                                                 "content": []}}
            part = {"type": "output_text", "text": "", "annotations": []}
            yield "response.content_part.added", at | {"content_index": 0, "part": part}
            for piece in _chunks(text):
                yield "response.output_text.delta", at | {"content_index": 0, "delta": piece}
            yield "response.output_text.done", at | {"content_index": 0, "text": text}
            yield "response.content_part.done", at | {"content_index": 0,
                                                      "part": part | {"text": text}}
        elif item["type"] == "function_call":
            yield "response.output_item.added", {"output_index": index,
                                                 "item": item | {"status": "in_progress",
                                                                 "arguments": ""}}
            for piece in _chunks(item["arguments"]):
                yield "response.function_call_arguments.delta", at | {"delta": piece}
            yield "response.function_call_arguments.done", at | {
                "arguments": item["arguments"]}
        else:
            yield "response.output_item.added", {"output_index": index,
                                                 "item": item | {"status": "in_progress",
                                                                 "input": ""}}
            for piece in _chunks(item["input"]):
                yield "response.custom_tool_call_input.delta", at | {"delta": piece}
            yield "response.custom_tool_call_input.done", at | {"input": item["input"]}
        yield "response.output_item.done", {"output_index": index, "item": item}
    usage = {"input_tokens": turn.input_tokens,
             "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": turn.output_tokens,
             "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": turn.input_tokens + turn.output_tokens}
    yield "response.completed", {"response": _response(turn, model, resp_id, "completed",
                                                        items, usage)}


def stream(turn: Turn, model: str, resp_id: str) -> Iterator[bytes]:
    """SSE frames with the ``type`` and ``sequence_number`` every real event carries."""
    for seq, (name, data) in enumerate(events(turn, model, resp_id)):
        payload = {"type": name, "sequence_number": seq, **data}
        yield f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
