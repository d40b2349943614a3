"""The GitHub sync cursor: where the incremental listing starts, and what it has seen.

One listing (``GET /repos/{o}/{r}/issues?state=all&since=…&sort=updated&direction=desc``)
covers new issues, edits, labels, new comments (they bump ``updated_at``) and pull request
merges and closes (pull requests are issues too). The cursor keeps:

- ``since``: the listing's start, on the server's clock. It stays put while the answers
  are small, so the URL stays the same and ``If-None-Match`` can say 304 (free);
- ``etag``: of page one of that URL (newest first, so any change shows on page one);
- ``seen``: comment counts of the issues shiftctl may care about, so comments are fetched
  only for an issue whose count moved, and the tracker's own comments (counted in
  ``cursor()`` after the cycle's writes) are not mistaken for news.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

OVERLAP_S = 60           # re-list this much before the newest change (replica lag)
ADVANCE_AFTER = 30       # move ``since`` forward once a changed listing holds more than this
VERSION = 1


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass
class Cursor:
    since: str | None = None
    etag: str | None = None
    seen: dict[int, int] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps({"v": VERSION, "since": self.since, "etag": self.etag,
                           "seen": {str(k): v for k, v in sorted(self.seen.items())}},
                          separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """None for no cursor, or one from another tracker or version: start over."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != VERSION:
            return None
        seen = {int(k): int(v) for k, v in (data.get("seen") or {}).items()}
        return cls(since=data.get("since"), etag=data.get("etag"), seen=seen)


def wants_comments(seen: dict[int, int], number: int, count: int) -> bool:
    """Fetch an issue's comments only when its count differs from what was seen."""
    known = seen.get(number)
    return count > 0 if known is None else count != known


def next_since(cursor: Cursor, *, first: bool, newest: str | None, server_date: str | None,
               changed: int) -> tuple[str | None, bool]:
    """(since, keep the etag?) after a listing that returned ``changed`` items."""
    if not first and changed <= ADVANCE_AFTER and cursor.since:
        return cursor.since, True
    anchor = parse_iso(newest) if newest else _server_now(server_date)
    since = iso(anchor - timedelta(seconds=OVERLAP_S))
    if cursor.since and since < cursor.since:
        return cursor.since, True
    return since, since == cursor.since


def _server_now(date: str | None) -> datetime:
    if date:
        try:
            return parsedate_to_datetime(date)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)
