"""Recognising "the provider refused the credentials": no key, a wrong key, an expired login.

Such a run ends ``unauthenticated``. No attempt of the task is spent (the task could not
have done better) and the admin starts nothing more on that profile until a person fixes
the credentials and says ``/retry`` (or ``/replan``): retrying would only fail the same
way. Pure functions over the agents' own words.
"""
from __future__ import annotations

import re

# 401: no or a wrong credential. 403 is left out: it also means "this model or tool is not
# allowed", which a credential fix does not cure.
REFUSED_STATUSES = frozenset({401})

_REFUSED_TEXT = re.compile(
    r"not logged in|please run /login|invalid api key|invalid[_ ]x?-?api[_ -]key|"
    r"incorrect api key|authentication_error|authentication failed|\bx-api-key\b|"
    r"oauth token has (?:expired|been revoked)|missing (?:bearer|api key)|"
    r"\bapi key (?:is )?(?:missing|not (?:set|found|valid))|"
    r"\b401\b[^\n]{0,40}unauthori[sz]ed|unauthori[sz]ed[^\n]{0,40}\b401\b", re.IGNORECASE)


def refused(text: str, status: int | None = None) -> bool:
    """The provider refused the credentials (rather than the task, or a rate limit)."""
    return (status is not None and status in REFUSED_STATUSES) or \
        bool(_REFUSED_TEXT.search(text or ""))
