"""``result.json`` and the agent's fenced ``shiftctl`` status block: writing and parsing.

The admin reads what the worker wrote with ``read``; anything corrupt, partial, huge or of
the wrong shape raises ``ResultError`` with a reason, so a bad file is a failed run, never a
crashed admin.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from shiftctl.system.fs import write_json
from shiftctl.worker.protocol import ProtocolError, check

OUTCOMES = ("succeeded", "failed", "timed_out", "stalled", "blocked", "needs_breakdown",
            "rate_limited", "unauthenticated", "tampered")
STATUSES = ("done", "blocked", "needs_breakdown")
MAX_RESULT_BYTES = 8 * 1024 * 1024
MAX_TEXT = 20_000
MAX_ANSWER = 400_000  # a read-only run's final message (a plan, a verdict) is its product
MAX_SUBTASKS = 50
MAX_TAMPERING = 200

_BLOCK = re.compile(r"```shiftctl[ \t]*\r?\n(.*?)\r?\n[ \t]*```", re.DOTALL)


class ResultError(ValueError):
    """A result file or status block that cannot be trusted."""


@dataclass
class Result:
    outcome: str
    exit_code: int | None = None
    commits: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    summary: str = ""
    question: str = ""
    subtasks: list[dict[str, str]] = field(default_factory=list)
    learnings: list[str] = field(default_factory=list)
    error: str = ""
    # timing, for overhead figures: worker start -> agent start, agent end -> result
    started_at: float = 0.0
    agent_started_at: float = 0.0
    agent_ended_at: float = 0.0
    ended_at: float = 0.0
    rate_limit_reset: float | None = None
    final_text: str = ""
    # outcome "tampered": what the agent changed outside its worktree, and what was undone:
    # [{"what", "change", "undo", "detail": [...]}]
    tampering: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write(path: Path, result: Result) -> None:
    write_json(path, result.to_dict())


def _text(value: Any, name: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ResultError(f"{name}: expected a string, got {type(value).__name__}")
    return value[:limit]


def _strings(value: Any, name: str, limit: int = 200) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ResultError(f"{name}: expected a list of strings")
    return [v[:MAX_TEXT] for v in value[:limit]]


def _subtasks(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResultError("subtasks: expected a list of {title, body}")
    out = []
    for i, item in enumerate(value[:MAX_SUBTASKS]):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) \
                or not item["title"].strip():
            raise ResultError(f"subtasks[{i}]: expected an object with a non-empty title")
        out.append({"title": item["title"].strip()[:300],
                    "body": _text(item.get("body"), f"subtasks[{i}].body")})
    return out


def _tampering(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ResultError("tampering: expected a list of {what, change, undo}")
    return [{"what": _text(v.get("what"), f"tampering[{i}].what", 500),
             "change": _text(v.get("change"), f"tampering[{i}].change", 50),
             "undo": _text(v.get("undo"), f"tampering[{i}].undo", 1000),
             "detail": _strings(v.get("detail"), f"tampering[{i}].detail", 40)}
            for i, v in enumerate(value[:MAX_TAMPERING])]


def _number(value: Any, name: str) -> float:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or not math.isfinite(value):
        raise ResultError(f"{name}: expected a non-negative, finite number")
    return value


def from_dict(data: Any) -> Result:
    if not isinstance(data, dict):
        raise ResultError("expected a JSON object")
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise ResultError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    checks = data.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, dict) and "name" in c
                                               and "passed" in c for c in checks):
        raise ResultError("checks: expected a list of {name, passed, output}")
    exit_code = data.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise ResultError("exit_code: expected an integer")
    known = {f.name for f in fields(Result)}
    reset = data.get("rate_limit_reset")
    if not isinstance(reset, (int, float)) or isinstance(reset, bool) or not math.isfinite(reset):
        reset = None
    return Result(
        outcome=outcome, exit_code=exit_code,
        commits=_strings(data.get("commits"), "commits", 10_000),
        files_changed=_strings(data.get("files_changed"), "files_changed", 100_000),
        checks=[{"name": str(c["name"]), "passed": bool(c["passed"]),
                 "output": _text(c.get("output"), "checks.output"),
                 "exit_code": c.get("exit_code"),
                 "duration_s": None if c.get("duration_s") is None
                 else _number(c["duration_s"], "checks.duration_s")}
                for c in checks],
        tokens_in=int(_number(data.get("tokens_in"), "tokens_in")),
        tokens_out=int(_number(data.get("tokens_out"), "tokens_out")),
        cost_usd=float(_number(data.get("cost_usd"), "cost_usd")),
        summary=_text(data.get("summary"), "summary"),
        question=_text(data.get("question"), "question"),
        subtasks=_subtasks(data.get("subtasks")),
        learnings=_strings(data.get("learnings"), "learnings", 20),
        error=_text(data.get("error"), "error"),
        started_at=float(_number(data.get("started_at"), "started_at")),
        agent_started_at=float(_number(data.get("agent_started_at"), "agent_started_at")),
        agent_ended_at=float(_number(data.get("agent_ended_at"), "agent_ended_at")),
        ended_at=float(_number(data.get("ended_at"), "ended_at")),
        rate_limit_reset=float(reset) if reset is not None else None,
        final_text=_text(data.get("final_text"), "final_text", MAX_ANSWER),
        tampering=_tampering(data.get("tampering")),
        extra={**{k: v for k, v in data.items() if k not in known and k != "extra"},
               **(extra if isinstance(extra := data.get("extra"), dict) else {})},
    )


def read(path: Path) -> Result:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ResultError(f"{path.name} is missing") from None
    if size > MAX_RESULT_BYTES:
        raise ResultError(f"{path.name} is {size} bytes (limit {MAX_RESULT_BYTES})")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path.name} is not valid JSON: {exc}") from exc
    return validated(data, path.name)


def validated(data: Any, name: str = "result.json") -> Result:
    """A result read, and checked against the published schema; ``ResultError`` says why
    not (the run is then a failed run with that reason). The reader's own, more specific
    messages come first; the schema catches the rest."""
    try:
        result = from_dict(data)
        check("result", data)
        return result
    except ProtocolError as exc:
        raise ResultError(f"{name} {exc}") from exc
    except ResultError as exc:
        raise ResultError(f"{name}: {exc}") from exc


@dataclass
class StatusBlock:
    status: str
    summary: str = ""
    question: str = ""
    subtasks: list[dict[str, str]] = field(default_factory=list)
    learnings: list[str] = field(default_factory=list)
    # a command agent that knows its own usage may report it here
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


def parse_status_block(text: str) -> StatusBlock | None:
    """The last fenced ``shiftctl`` block of an agent's final message, validated.

    Returns None when there is no block; raises ``ResultError`` for a block that is present
    but malformed (a malformed answer is not the same as no answer).
    """
    matches = _BLOCK.findall(text or "")
    if not matches:
        return None
    raw = matches[-1].strip()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ResultError(f"status block is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultError("status block: expected a JSON object")
    status = data.get("status")
    if status not in STATUSES:
        raise ResultError(f"status block: status {status!r} is not one of {', '.join(STATUSES)}")
    block = StatusBlock(status=status, summary=_text(data.get("summary"), "summary"),
                        question=_text(data.get("question"), "question"),
                        subtasks=_subtasks(data.get("subtasks")),
                        learnings=_strings(data.get("learnings"), "learnings", 20),
                        tokens_in=int(_number(data.get("tokens_in"), "tokens_in")),
                        tokens_out=int(_number(data.get("tokens_out"), "tokens_out")),
                        cost_usd=float(_number(data.get("cost_usd"), "cost_usd")))
    if status == "blocked" and not block.question:
        raise ResultError("status block: 'blocked' needs a question")
    if status == "needs_breakdown" and not block.subtasks:
        raise ResultError("status block: 'needs_breakdown' needs subtasks")
    try:
        check("status-block", data)
    except ProtocolError as exc:
        raise ResultError(f"status block {exc}") from exc
    return block
