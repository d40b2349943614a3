"""Rendering prompts: shiftctl's fixed frame around instructions a repository may override.

Every prompt (work, plan, review) is made here, in three steps:

1. every string of the context is cleaned (``untrusted.clean_context``: no HTML comments, no
   control or invisible characters; a diff keeps its text and shows them as ``<U+XXXX>``);
2. the *instructions* are rendered: ``prompts/NAME`` (shiftctl's default) and, when
   ``prompts_dir`` holds its own ``NAME``, that file, with only trusted values (issue number,
   branch, task key, attempt numbers, the configured checks, and ``default``: the default
   instructions) and never the issue's or an agent's words;
3. the frame ``prompts/frame/NAME`` (not overridable) puts the instructions first, then the
   untrusted data, each piece fenced, then the answer contract the parsers depend on.

The whole text is then redacted (``redact.Redactor``): no secret of the admin's environment
reaches an agent. Templates render in Jinja's immutable sandbox; a repository's templates are
read from inside the repository without following a link out of it (``system.inside``). A
template that fails raises ``PromptError`` naming the file and line.
"""
from __future__ import annotations

import hashlib
import operator
import os
import posixpath
import re
import traceback
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shiftctl import prompts
from shiftctl.admin.briefing import PromptError
from shiftctl.admin.config import Config
from shiftctl.admin.redact import Redactor
from shiftctl.admin.untrusted import clean_context, one_line
from shiftctl.system import inside

BODY_BUDGET = 60_000
KINDS = ("work.md.j2", "plan.md.j2", "review.md.j2")
MAX_TEMPLATE_BYTES = 256 * 1024
MAX_INSTRUCTIONS = 20_000
MAX_PROMPT = 1_000_000
MAX_SEQUENCE = 100_000  # the longest string or list a template may make by multiplying
MAX_EXPONENT = 64


def fence(text: str | None, info: str = "") -> str:
    """Fence untrusted text with a fence longer than any backtick run inside it."""
    text = (text or "").rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no attribute starting with ``_``, no mutating a list or a
    dict, ``range`` capped), and no huge string or number by ``*`` or ``**`` either."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, op: str, left: Any,
                   right: Any) -> Any:
        if op == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and \
                        len(seq) * times > MAX_SEQUENCE:
                    raise SecurityError(f"a sequence of {len(seq) * times} items is longer "
                                        f"than {MAX_SEQUENCE}")
            return operator.mul(left, right)
        return operator.pow(left, right)


def _sandbox(loader: jinja2.BaseLoader, **options: Any) -> Sandbox:
    env = Sandbox(loader=loader, autoescape=False, keep_trailing_newline=True,
                  undefined=jinja2.StrictUndefined, **options)
    env.filters["fence"] = fence
    env.filters["line"] = one_line
    return env


@lru_cache(maxsize=1)
def _builtin() -> Sandbox:
    """shiftctl's own templates: the frames and the default instructions."""
    return _sandbox(jinja2.FileSystemLoader(str(Path(prompts.__file__).parent)))


class RepoLoader(jinja2.BaseLoader):
    """Templates of ``prompts_dir``, read from inside the repository without following a link
    out of it; every render reads them again (a merged change shows at once)."""

    def __init__(self, root: Path, directory: str) -> None:
        self.root = root
        self.directory = directory

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        rel = posixpath.join(self.directory, *split_template_path(template))
        try:
            data = inside.read(self.root, rel, MAX_TEMPLATE_BYTES + 1)
        except (inside.Refused, OSError) as exc:
            raise PromptError(f"prompt template {rel} (prompts_dir): cannot be read: "
                              f"{exc}") from None
        if data is None:
            raise jinja2.TemplateNotFound(template)
        if len(data) > MAX_TEMPLATE_BYTES:
            raise PromptError(f"prompt template {rel} (prompts_dir) is larger than "
                              f"{MAX_TEMPLATE_BYTES} bytes")
        return data.decode("utf-8", "replace"), rel, lambda: False


def _override(config: Config) -> Sandbox | None:
    if not config.prompts_dir:
        return None
    return _sandbox(RepoLoader(config.root, config.prompts_dir), auto_reload=True, cache_size=0)


def _where(exc: BaseException, fallback: str) -> str:
    """The template and line an error happened at (Jinja rewrites tracebacks so that the
    template's own frames carry its file name and line)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name or fallback} line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if frames:
        return f"{frames[-1].filename} line {frames[-1].lineno}"
    return fallback


def _render(template: jinja2.Template, context: dict[str, Any], limit: int) -> str:
    out: list[str] = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > limit:
            raise SecurityError(f"renders more than {limit} characters")
        out.append(chunk)
    return "".join(out)


def _run(env: Sandbox, name: str, context: dict[str, Any], limit: int,
         label: str) -> str:
    try:
        return _render(env.get_template(name), context, limit)
    except PromptError:
        raise
    except Exception as exc:  # syntax, undefined, sandbox refusals, a template's own errors
        where = _where(exc, f"{label}{name}")
        raise PromptError(f"prompt template {where}: {type(exc).__name__}: {exc}") from None


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def trusted(data: dict[str, Any]) -> dict[str, Any]:
    """What instructions may use: numbers and shiftctl's own names, never people's or
    agents' words (see the override contract in prompts/work.md.j2)."""
    out: dict[str, Any] = {k: data[k] for k in ("branch", "attempt", "max_attempts", "max_tasks")
                           if k in data}
    if "issue" in data:
        out["issue_number"] = _field(data["issue"], "number")
    if "task" in data:
        out["task_key"] = _field(data["task"], "key")
    out["checks"] = [{"name": one_line(_field(c, "name"), 100), "run": _field(c, "run") or ""}
                     for c in data.get("checks") or []]
    return out


def render(config: Config, name: str, **context: Any) -> str:
    """The prompt ``name`` (one of ``KINDS``): instructions inside shiftctl's frame, every
    untrusted string cleaned and fenced, the whole redacted. Raises ``PromptError``."""
    if name not in KINDS:
        raise ValueError(f"no prompt {name!r} (one of {', '.join(KINDS)})")
    data = clean_context(context)
    data.setdefault("body_budget", BODY_BUDGET)
    values = trusted(data)
    instructions = _run(_builtin(), name, values, MAX_INSTRUCTIONS, "prompts/")
    override = _override(config)
    if override is not None:
        try:
            override.get_template(name)
        except jinja2.TemplateNotFound:
            override = None  # the repository overrides other prompts, not this one
        except PromptError:
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"prompt template {_where(exc, name)} (prompts_dir): "
                              f"TemplateSyntaxError: {exc}") from None
    if override is not None:
        instructions = _run(override, name, {**values, "default": instructions},
                            MAX_INSTRUCTIONS, f"{config.prompts_dir}/")
    text = _run(_builtin(), f"frame/{name}", {**data, "instructions": instructions.strip("\n")},
                MAX_PROMPT, "prompts/")
    return Redactor.build(config, os.environ).redact(text)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
