"""Untrusted text made inert before it enters a prompt or a tracker comment. Pure.

People's issues and comments, agents' summaries, questions, learnings and check output, and
the repository's own files are data. Text can carry what a reader (a person on the tracker, or
a model in a prompt) does not see but still acts on: HTML comments (GitHub hides them; so would
a fake ``<!-- shiftctl:... -->`` marker), NUL and other control characters, zero-width and other
invisible format characters, bidirectional overrides (Trojan Source) and Unicode tag
characters (invisible ASCII look-alikes models read). claude-code-action strips the same
classes from what it puts in prompts.

``clean`` removes all of them from prose. ``clean_code`` is for diffs and source: there an
invisible character may be the very thing a reviewer must see, so it is shown as ``<U+XXXX>``
instead of removed, and HTML comments (legitimate in code) stay.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import fields, is_dataclass
from types import SimpleNamespace
from typing import Any

# Invisible characters that are not of category Cf (those are all caught by category):
# combining grapheme joiner, Hangul fillers, variation selectors, the unassigned U+E0000 of the
# tag block.
_EXTRA_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0xE0000, *range(0xFE00, 0xFE10),
     *range(0xE0100, 0xE01F0)])
_KEEP = frozenset("\n\t")
_SUSPECT = re.compile(r"[^\x20-\x7e\n\t]")  # all that is not plain printable ASCII
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")


class Code(str):
    """A string that is code (a diff): ``clean_context`` gives it ``clean_code``."""


def _hidden(ch: str) -> bool:
    """A character a reader does not see: control (C0, DEL, C1), format, or invisible."""
    if ch in _KEEP:
        return False
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf") or ord(ch) in _EXTRA_INVISIBLE


def strip_comments(text: str) -> str:
    """Remove HTML comments, also an unterminated one (to the end) and ones that removing
    another one would join together (``<!<!---->-- x -->``)."""
    while "<!--" in text:
        text = _COMMENT.sub("", text)
    return text


def clean(text: str | None) -> str:
    """Prose, made inert: line breaks normalised to ``\\n``, every hidden character and every
    HTML comment removed. Idempotent."""
    text = _LINE_BREAKS.sub("\n", text or "")
    text = _SUSPECT.sub(lambda m: "" if _hidden(m.group(0)) else m.group(0), text)
    return strip_comments(text)


def clean_code(text: str | None) -> str:
    """Code, made visible: hidden characters (except ``\\r`` of CRLF files) shown as
    ``<U+XXXX>``; nothing else changes."""
    def show(m: re.Match[str]) -> str:
        ch = m.group(0)
        return f"<U+{ord(ch):04X}>" if ch != "\r" and _hidden(ch) else ch
    return _SUSPECT.sub(show, text or "")


def one_line(text: str | None, limit: int = 200) -> str:
    """A title or heading: cleaned, on one line, at most ``limit`` characters."""
    line = " ".join(clean(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def clean_context(value: Any) -> Any:
    """Every string inside ``value`` cleaned (``Code`` ones as code); dataclasses become
    namespaces of cleaned fields, so a template can only ever see cleaned text."""
    if isinstance(value, Code):
        return clean_code(value)
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {k: clean_context(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_context(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return SimpleNamespace(**{f.name: clean_context(getattr(value, f.name))
                                  for f in fields(value)})
    return value
