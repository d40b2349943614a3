"""Rendering pages: Jinja with autoescape on (issue text, comments, agent output and
summaries are untrusted and are shown as text, never as markup) and a few filters."""
from __future__ import annotations

import time
from typing import Any

import jinja2


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    delta = now - ts
    return f"{dur(abs(delta))} {'ago' if delta >= 0 else 'from now'}"


def dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def usd(value: float | None) -> str:
    """Enough digits that half a cent is not shown as a cent."""
    value = value or 0.0
    return f"${value:.4f}" if 0 < abs(value) < 1 else f"${value:.2f}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("shiftctl.admin.serve", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ago=ago, dur=dur, when=when, usd=usd)
    return env


def render(env: jinja2.Environment, name: str, context: dict[str, Any], *,
           fragment: bool) -> str:
    """The whole page, or only its ``live`` block (what a page's script fetches to update)."""
    template = env.get_template(name)
    if fragment:
        return "".join(template.blocks["live"](template.new_context(context)))
    return template.render(context)
