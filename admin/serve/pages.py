"""Rendering pages: Jinja with autoescape on (issue text, comments, agent output and
summaries are untrusted and are shown as text, never as markup) and a few filters."""
from __future__ import annotations

import time
from typing import Any

import jinja2

from shiftctl.admin.humanize import duration, money


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    delta = now - ts
    return f"{duration(abs(delta))} {'ago' if delta >= 0 else 'from now'}"


def dur(seconds: float | None) -> str:
    return "-" if seconds is None else duration(seconds)


def when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def usd(value: float | None) -> str:
    return money(value or 0.0)


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
