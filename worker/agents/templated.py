"""``aider``, ``gemini`` and ``opencode``: agent CLIs driven by an argv template.

Switching a profile between them is one line (``kind: gemini``). Each template says how the
prompt gets in (a file, or stdin; never argv) and how to read the CLI's output: its final
message (which ends with the fenced ``shiftctl`` block), tokens, cost and errors.

    aider     aider --yes-always --no-pretty --no-stream --no-check-update
                    --no-show-model-warnings --no-analytics --message-file PROMPT [--model M]
    gemini    gemini --approval-mode yolo --output-format json [--model M]  < PROMPT
    opencode  opencode run --format json [--model M]                        < PROMPT

A profile's ``argv`` replaces the executable (``argv: [/opt/aider/bin/aider]``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shiftctl.worker.agents import AgentContext, AgentOutcome, auth, outcome_from_proc, reading
from shiftctl.worker.agents.limits import mentions_limit, reset_time
from shiftctl.worker.spec import AgentSpec


@dataclass
class Reading:
    """What a CLI's output says about the run."""
    final_text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    argv: tuple[str, ...]
    model_flag: str = "--model"
    stdin: bool = True
    read: Callable[[str], Reading] = lambda out: Reading(final_text=out)


# "Tokens: 4.2k sent, 3.8k cache write, 1.2k cache hit, 310 received." (cache parts optional)
_AIDER_TOKENS = re.compile(r"Tokens:\s*(\d+(?:\.\d+)?)([kKmM]?) sent,\s*"
                           r"(?:[\d.]+[kKmM]? cache (?:write|hit),\s*)*"
                           r"(\d+(?:\.\d+)?)([kKmM]?) received")
_AIDER_COST = re.compile(r"Cost:\s*\$(\d+(?:\.\d+)?) message,\s*\$(\d+(?:\.\d+)?) session")
_AIDER_LIMIT = re.compile(r"^.*(?:RateLimitError|ServiceUnavailableError|OverloadedError|"
                          r"InternalServerError).*$", re.MULTILINE)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def read_aider(out: str) -> Reading:
    """Aider prints the model's reply, then ``Tokens: 4.2k sent, 310 received. Cost: $0.01
    message, $0.03 session.`` after each exchange (with ``3.8k cache write`` and ``1.2k cache
    hit`` before ``received`` when the provider caches prompts). ``tokens_in`` is what aider
    calls "sent"."""
    r = Reading(final_text=out)
    for m in _AIDER_TOKENS.finditer(out):
        r.tokens_in += int(reading.number(float(m.group(1)) * _SCALE[m.group(2).lower()]))
        r.tokens_out += int(reading.number(float(m.group(3)) * _SCALE[m.group(4).lower()]))
    costs = _AIDER_COST.findall(out)
    if costs:
        r.cost_usd = reading.number(float(costs[-1][1]))
    limit = _AIDER_LIMIT.search(out)
    if limit:  # aider reports the provider's refusal and still exits 0
        r.error = f"aider: {limit.group(0).strip()[:500]}"
    return r


_OBJECT_START = re.compile(r"^\{", re.MULTILINE)


def _last_object(text: str, tries: int = 50) -> dict[str, Any]:
    """The last JSON object that starts a line and parses: a pretty-printed object begins at
    column 0 while its nested objects are indented, and chatter before it is skipped. Failing
    that, the object at the first ``{``."""
    decoder = json.JSONDecoder()
    starts = [m.start() for m in _OBJECT_START.finditer(text)]
    first = text.find("{")
    if first >= 0 and first not in starts:
        starts.insert(0, first)
    for start in reversed(starts[-tries:]):
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return {}


def read_gemini(out: str) -> Reading:
    """``--output-format json`` prints one object: ``response``, ``stats.models.*.tokens``;
    on failure ``error`` (``type``, ``message``, ``code``), which gemini prints on stderr."""
    data = _last_object(out)
    r = Reading(final_text=str(data.get("response") or ""))
    for stats in reading.mapping(reading.mapping(data.get("stats")).get("models")).values():
        tokens = reading.mapping(reading.mapping(stats).get("tokens"))
        r.tokens_in += int(reading.number(tokens.get("prompt")))
        r.tokens_out += int(reading.number(tokens.get("candidates")))
    err = data.get("error")
    if isinstance(err, dict):
        code = err.get("code")  # an HTTP status (429) or gemini's exit code
        r.error = (f"gemini: {err.get('type') or 'error'}{f' ({code})' if code else ''}: "
                   f"{err.get('message') or ''}").strip()
    return r


def read_opencode(out: str) -> Reading:
    """``run --format json`` prints events: ``text`` parts, ``step_finish`` with
    ``part.tokens`` and ``part.cost``, ``error``."""
    r = Reading()
    texts: list[str] = []
    for ev in reading.events(out):
        part = reading.mapping(ev.get("part"))
        kind = ev.get("type")
        if kind == "text" and part.get("text"):
            texts.append(str(part["text"]))
        elif kind == "step_finish":
            tokens = reading.mapping(part.get("tokens"))
            r.tokens_in += int(reading.number(tokens.get("input")))
            r.tokens_out += int(reading.number(tokens.get("output")))
            r.cost_usd += reading.number(part.get("cost"))
        elif kind == "error":
            err = ev.get("error")
            msg = (reading.mapping(err.get("data")).get("message") or err.get("message")
                   or err.get("name")) if isinstance(err, dict) else err
            r.error = f"opencode: {msg or 'error'}"
        if ev.get("sessionID"):
            r.extra["session_id"] = ev["sessionID"]
    r.cost_usd = reading.number(r.cost_usd)  # a sum of huge amounts can overflow
    r.final_text = "".join(texts)
    return r


TEMPLATES: dict[str, Template] = {
    "aider": Template(("aider", "--yes-always", "--no-pretty", "--no-stream", "--no-check-update",
                       "--no-show-model-warnings", "--no-analytics", "--message-file",
                       "{prompt_file}"), stdin=False, read=read_aider),
    "gemini": Template(("gemini", "--approval-mode", "yolo", "--output-format", "json"),
                       read=read_gemini),
    "opencode": Template(("opencode", "run", "--format", "json"), read=read_opencode),
}


def argv(kind: str, agent: AgentSpec, prompt_file: str) -> list[str]:
    template = TEMPLATES[kind]
    cmd = [*(agent.argv or template.argv[:1]), *template.argv[1:]]
    if agent.model:
        cmd += [template.model_flag, agent.model]
    return [a.replace("{prompt_file}", prompt_file) for a in cmd]


class TemplatedAgent:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def run(self, ctx: AgentContext) -> AgentOutcome:
        template = TEMPLATES[self.kind]
        proc = ctx.run(argv(self.kind, ctx.spec.agent, str(ctx.prompt_file)),
                       stdin_path=ctx.prompt_file if template.stdin else None)
        out = outcome_from_proc(proc)
        reading = template.read(proc.stdout)
        if not reading.error and proc.exit_code and proc.stderr:
            reading.error = template.read(proc.stderr).error  # gemini reports errors there
        out.final_text = reading.final_text
        out.tokens_in, out.tokens_out = reading.tokens_in, reading.tokens_out
        out.cost_usd, out.extra = reading.cost_usd, reading.extra
        if reading.error:
            out.error = reading.error
        if out.how == "exited" and out.error and mentions_limit(out.error):
            out.rate_limited = True
            out.rate_limit_reset = reset_time(out.error)
        elif out.how == "exited" and out.error:
            out.unauthenticated = auth.refused(out.error)
        return out


def aider() -> TemplatedAgent:
    return TemplatedAgent("aider")


def gemini() -> TemplatedAgent:
    return TemplatedAgent("gemini")


def opencode() -> TemplatedAgent:
    return TemplatedAgent("opencode")
