"""Reading the answers of read-only runs: an agent planner's plan, a reviewer's verdict.

Pure: text in, plain data out, or an ``AnswerError`` that says exactly what is wrong, in
words that go back to the agent (one corrective retry) or to a person (a comment).
"""
from __future__ import annotations

import json
import re
from typing import Any

from shiftctl.admin.planning.plans import PlannedTask, task_key

_FENCED = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*(json)?[ \t]*\n(.*?)^[ \t]*\1[ \t]*$",
                     re.DOTALL | re.MULTILINE)
MAX_FIELD = 20_000
MAX_ITEMS = 200


class AnswerError(ValueError):
    """An answer that cannot be used; the message says why."""


def json_answer(text: str) -> dict[str, Any]:
    """The answer's JSON object: the last fenced block that parses as an object (a ``json``
    fence preferred), else the whole text, else the last ``{...}`` span that parses."""
    blocks = [(m.group(2) == "json", m.group(3)) for m in _FENCED.finditer(text or "")]
    ordered = [b for tagged, b in reversed(blocks) if tagged] + \
              [b for tagged, b in reversed(blocks) if not tagged]
    for body in ordered:
        value = _loads(body)
        if isinstance(value, dict):
            return value
    value = _loads(text or "")
    if isinstance(value, dict):
        return value
    end = (text or "").rfind("}")
    start = (text or "").find("{")
    while 0 <= start < end:
        value = _loads(text[start:end + 1])
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    if blocks:
        raise AnswerError("the fenced block is not a valid JSON object")
    raise AnswerError("the answer holds no JSON object")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None


def _string(value: Any, where: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise AnswerError(f"{where} must be a non-empty string" if required
                          else f"{where} must be a string")
    return value.strip()[:MAX_FIELD]


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnswerError(f"{where} must be a list of strings")
    return [v.strip()[:MAX_FIELD] for v in value[:MAX_ITEMS] if v.strip()]


def plan_tasks(data: dict[str, Any]) -> list[PlannedTask]:
    """The plan's tasks, keyed by the agent's own ids (so that ``plans.validate`` and any
    error speak the agent's language); ``rekey`` gives them shiftctl's keys afterwards."""
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise AnswerError('the plan needs a non-empty "tasks" list')
    out = []
    for i, item in enumerate(tasks):
        where = f"tasks[{i}]"
        if not isinstance(item, dict):
            raise AnswerError(f"{where} must be an object")
        out.append(PlannedTask(
            key=_string(_ids([item.get("id")])[0], f"{where}.id", required=True),
            title=_string(item.get("title"), f"{where}.title", required=True)[:300],
            body=_string(item.get("body"), f"{where}.body"),
            success_criteria=_strings(item.get("success_criteria"), f"{where}.success_criteria"),
            depends_on=_strings(_ids(item.get("depends_on")), f"{where}.depends_on"),
            paths=_strings(item.get("paths"), f"{where}.paths"),
            profile=_string(item.get("agent"), f"{where}.agent") or None))
    return out


def _ids(value: Any) -> Any:
    """Ids may come as numbers (``[1, 2]``); they are compared as text."""
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def rekey(tasks: list[PlannedTask], version: int) -> list[PlannedTask]:
    """shiftctl's task keys (``t1``, ``v2t1`` ...) in plan order, dependencies renamed."""
    keys = {t.key: task_key(version, n) for n, t in enumerate(tasks, 1)}
    for t in tasks:
        t.key = keys[t.key]
        t.depends_on = [keys.get(d, d) for d in t.depends_on]
    return tasks


def verdict(data: dict[str, Any]) -> tuple[bool, list[str]]:
    """``{"pass": bool, "findings": [...]}``; a failing verdict always names a finding."""
    passed = data.get("pass")
    if not isinstance(passed, bool):
        raise AnswerError('the verdict needs "pass": true or false')
    findings = _strings(data.get("findings"), "findings")
    if not passed and not findings:
        findings = ["the reviewer rejected the change without saying why"]
    return passed, findings
