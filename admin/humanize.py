"""Numbers and lines as people read them, the same in the terminal, comments and the PR
body. Pure."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shiftctl.memory.store import Usage


def money(usd: float) -> str:
    """Dollars with enough digits: two decimals from a dollar up, three significant digits
    below one ($0.005 stays "$0.005", never "$0.01"; $0.0149 is not "$0.01")."""
    if not usd > 0:
        return "$0.00"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd < 1e-6:
        return "<$0.000001"
    decimals = max(2, 2 - math.floor(math.log10(usd)))
    text = f"{usd:.{decimals}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"${whole}.{frac}"


def tokens(n: int) -> str:
    """950, 12.3k, 4.56M."""
    if n < 1000:
        return str(max(0, n))
    if n < 1_000_000:
        return f"{n / 1000:.3g}k"
    return f"{n / 1_000_000:.3g}M"


def usage(tokens_in: int, tokens_out: int, turns: int, cost_usd: float) -> str:
    """"12.3k in / 1.2k out tokens, 7 turns, $0.042"."""
    parts = [f"{tokens(tokens_in)} in / {tokens(tokens_out)} out tokens"]
    if turns:
        parts.append(f"{turns} turn{'s' if turns != 1 else ''}")
    parts.append(money(cost_usd))
    return ", ".join(parts)


def spent(used: Usage) -> str:
    """What a task or an issue has used so far, as ``usage`` says it."""
    return usage(used.tokens_in, used.tokens_out, used.turns, used.cost_usd)


def clip(text: str, width: int) -> str:
    """At most ``width`` characters; a cut text ends with an ellipsis, so it shows it was cut."""
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def duration(seconds: float) -> str:
    """0.4s, 45s, 2m05s, 1h02m: a check that took 0.4 s is not "0s"."""
    seconds = max(0.0, seconds)
    s = int(seconds)
    if s < 1:
        return f"{seconds:.1f}s"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
