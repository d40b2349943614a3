"""What an agent reported so far, carried by the heartbeat (docs/design.md §5) so that
``run`` and ``status`` can show tokens, cost, turns and the last activity while it works.

Kept small (one short line of activity) and made printable here; the admin cleans it again
before showing it, since an unsandboxed agent can write its run directory.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ACTIVITY_CHARS = 160


def one_line(text: str, limit: int = ACTIVITY_CHARS) -> str:
    """The first non-empty line of ``text``, printable characters only, at most ``limit``."""
    for line in text.splitlines():
        shown = "".join(ch for ch in line if ch.isprintable()).strip()
        if shown:
            return shown if len(shown) <= limit else shown[:limit - 1] + "…"
    return ""


@dataclass
class Progress:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    turns: int = 0
    activity: str = ""

    def note(self, text: str) -> None:
        """The agent's latest activity (a line of output, a tool call)."""
        line = one_line(text)
        if line:
            self.activity = line

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
