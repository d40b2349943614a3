"""The key facts of an agent's log: tool calls, errors, shiftctl's own markers.

A log can be many megabytes; only its head and tail are read (``HEAD_BYTES`` and
``TAIL_BYTES``), never the whole file, and at most ``MAX_FACTS`` short lines come out.
Agents that stream JSON events (Claude Code's ``stream-json``, Codex's ``--json``) have their
``tool_use`` blocks and error results recognised; any other line counts when it looks like
an error.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 192 * 1024
MAX_FACTS = 40
MAX_FACT_CHARS = 200

_ERROR = re.compile(r"\b(error|exception|traceback|fatal|failed|failure|panic|denied)\b", re.I)
_MARKER = "[shiftctl] "
_TOOL_ARGS = ("command", "file_path", "path", "pattern", "url", "query", "description")


def read_bounded(path: Path, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> str:
    """The first ``head`` and last ``tail`` bytes of a file, decoded ('' when missing)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= head + tail:
                data = fh.read()
            else:
                first = fh.read(head)
                fh.seek(size - tail)
                data = first + b"\n[... " + str(size - head - tail).encode() + \
                    b" bytes skipped ...]\n" + fh.read()
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_FACT_CHARS else text[:MAX_FACT_CHARS - 1] + "…"


def _tool_fact(block: dict[str, Any]) -> str:
    name = str(block.get("name") or "tool")
    given = block.get("input")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    shown = next((str(args[k]) for k in _TOOL_ARGS if args.get(k)), "")
    return _short(f"tool {name}: {shown}" if shown else f"tool {name}")


def _walk(value: Any, out: list[str]) -> None:
    """Collect tool calls and error results from one JSON event, however deeply nested."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in ("tool_use", "function_call") and value.get("name"):
            out.append(_tool_fact(value))
            return
        if kind == "result" and value.get("is_error"):
            error = value.get("result") or value.get("subtype") or "agent error"
            out.append(_short(f"error: {error}"))
            return
        if kind == "tool_result" and value.get("is_error"):
            content = value.get("content")
            text = content if isinstance(content, str) else json.dumps(content)[:300]
            out.append(_short(f"tool error: {text}"))
            return
        for v in value.values():
            _walk(v, out)
    elif isinstance(value, list):
        for v in value:
            _walk(v, out)


def facts(text: str, limit: int = MAX_FACTS) -> list[str]:
    """Tool calls, errors and markers, in log order, without repeats."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        found: list[str] = []
        if line.startswith("{") and line.endswith("}"):
            try:
                _walk(json.loads(line), found)
            except ValueError:
                pass
        elif line.startswith(_MARKER):
            found.append(_short(line[len(_MARKER):]))
        elif _ERROR.search(line):
            found.append(_short(f"error: {line}"))
        for fact in found:
            if fact not in out:
                out.append(fact)
    if len(out) > limit:  # keep the start (what it set out to do) and the end (how it ended)
        half = limit // 2
        out = out[:half] + out[-(limit - half):]
    return out


def log_facts(path: Path, limit: int = MAX_FACTS) -> list[str]:
    return facts(read_bounded(path), limit)
