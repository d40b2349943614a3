"""Rendering the prompt templates; a repository may override any of them."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from shiftctl import prompts
from shiftctl.admin.config import Config

BODY_BUDGET = 60_000


def fence(text: str | None, info: str = "") -> str:
    """Fence untrusted text with a fence longer than any backtick run inside it."""
    text = (text or "").rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


@lru_cache(maxsize=8)
def _env(override: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override:
        loaders.append(jinja2.FileSystemLoader(override))
    loaders.append(jinja2.FileSystemLoader(str(Path(prompts.__file__).resolve().parent)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["fence"] = fence
    return env


def render(config: Config, name: str, **context: Any) -> str:
    override = str(config.root / config.prompts_dir) if config.prompts_dir else None
    context.setdefault("body_budget", BODY_BUDGET)
    return _env(override).get_template(name).render(**context)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
