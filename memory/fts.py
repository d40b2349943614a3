"""Turning free text into safe SQLite FTS5 queries.

Every term is quoted, so words like ``NOT`` or characters like ``*`` and ``"`` in a task's
text can never change the query's meaning or make it a syntax error.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]{2,}(?:[_-][^\W_]+)*", re.UNICODE)
MAX_TERMS = 32

# Words that match almost everything and so rank nothing.
STOPWORDS = frozenset([
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "but", "by", "can", "could", "did", "do", "does", "done", "each", "else", "for",
    "from", "had", "has", "have", "how", "if", "in", "into", "is", "it", "its", "just", "make",
    "may", "more", "most", "must", "need", "needs", "new", "no", "not", "now", "of", "on", "once",
    "one", "only", "or", "other", "our", "out", "over", "per", "please", "same", "should", "so",
    "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "up", "use", "used", "using", "very", "via",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with",
    "without", "would", "yes", "you", "your",
])


def terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """The distinct, meaningful words of ``text``, in order of first appearance."""
    seen: list[str] = []
    for match in _WORD.finditer(text or ""):
        word = match.group(0).lower()
        if word in STOPWORDS or word.isdigit() or word in seen:
            continue
        seen.append(word)
        if len(seen) >= limit:
            break
    return seen


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_any(text: str, limit: int = MAX_TERMS) -> str:
    """An FTS5 query matching rows that share any word with ``text`` ('' when none)."""
    return " OR ".join(_quote(w) for w in terms(text, limit))


def match_all(text: str, limit: int = MAX_TERMS) -> str:
    """An FTS5 query matching rows that hold every word of ``text`` ('' when none)."""
    return " AND ".join(_quote(w) for w in terms(text, limit))
