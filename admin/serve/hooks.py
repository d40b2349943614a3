"""GitHub webhooks, the pure part: is a delivery authentic, and is it a reason to wake?

GitHub signs each delivery's body with the webhook's secret: ``X-Hub-Signature-256:
sha256=HEX`` (HMAC-SHA256). Nothing of a delivery is read before its signature checks out,
and the check is constant-time. An authentic delivery only ever wakes the loop: the cycle's
own sync then reads GitHub, so a payload's content is never trusted for anything.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

PATH = "/hooks/github"
SIGNATURE_HEADER = "x-hub-signature-256"
FOLLOWED = ("issues", "issue_comment", "pull_request", "label")
MAX_BODY = 2 * 1024 * 1024     # GitHub caps payloads at 25 MB; ours are issues and comments
MAX_SHOWN = 80                 # characters of an unauthenticated header kept in a record


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: str


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str | None) -> Verdict:
    if not secret:
        return Verdict(False, "no webhook secret is configured")
    if not header:
        return Verdict(False, "unsigned: no X-Hub-Signature-256 header")
    algorithm, sep, digest = header.strip().partition("=")
    if not sep or algorithm != "sha256":
        return Verdict(False, "not signed with sha256")
    expected = sign(body, secret).encode()
    if not hmac.compare_digest(expected, ("sha256=" + digest).encode("utf-8", "replace")):
        return Verdict(False, "wrong signature")
    return Verdict(True, "signed")


def shown(value: str | None) -> str:
    """An unauthenticated header as it may appear in a record: short and printable."""
    text = "".join(c if c.isprintable() else "?" for c in (value or "")[:MAX_SHOWN])
    return text + ("…" if value and len(value) > MAX_SHOWN else "")


def _login(value: Any) -> str | None:
    return value.get("login") if isinstance(value, dict) else None


def summary(event: str, payload: Any) -> dict[str, Any]:
    """What an authentic delivery was about, for the record (bounded by ``inbox.record``)."""
    data = payload if isinstance(payload, dict) else {}
    subject = data.get("issue") or data.get("pull_request") or {}
    number = subject.get("number") if isinstance(subject, dict) else None
    label = data.get("label")
    return {"event": event, "action": data.get("action"),
            "issue": number if isinstance(number, int) else None,
            "label": label.get("name") if isinstance(label, dict) else None,
            "sender": _login(data.get("sender")),
            "repository": (data.get("repository") or {}).get("full_name")
            if isinstance(data.get("repository"), dict) else None}


def should_wake(event: str, about: dict[str, Any], repo: str | None,
                bot: str | None) -> tuple[bool, str]:
    """Whether an authentic delivery is news for the loop, and why (not)."""
    if event == "ping":
        return False, "ping"
    if event not in FOLLOWED:
        return False, f"event {event!r} is not one shiftctl follows"
    if repo is None:
        return False, "this repository's tracker is not GitHub"
    if (about.get("repository") or "").lower() != repo.lower():
        return False, f"about another repository ({about.get('repository')})"
    if bot and about.get("sender") == bot:
        return False, "shiftctl's own change"
    return True, f"{event} {about.get('action') or ''}".strip()


class SeenDeliveries:
    """The last ``size`` delivery ids: a replayed delivery wakes nothing twice."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, delivery: str) -> bool:
        if delivery in self._ids:
            self._ids.move_to_end(delivery)
            return False
        self._ids[delivery] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


class Throttle:
    """Records of refused deliveries, at most one per reason per ``window`` seconds: a flood
    of forged requests becomes a count, not a flood of events. Time is passed in."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[str, float] = {}
        self._pending: dict[str, dict[str, Any]] = {}

    def note(self, reason: str, now: float, **detail: Any) -> dict[str, Any] | None:
        """Count one; returns the record to write now, or None while the window lasts."""
        entry = self._pending.setdefault(reason, {"reason": reason, "count": 0,
                                                  "first_at": now})
        entry.update(detail, count=entry["count"] + 1, last_at=now)
        if now - self._last.get(reason, -math.inf) >= self.window:
            return self._take(reason, now)
        return None

    def due(self, now: float) -> list[dict[str, Any]]:
        """Counted records whose window has passed."""
        return [self._take(r, now) for r in list(self._pending)
                if now - self._last.get(r, -math.inf) >= self.window]

    def drain(self) -> list[dict[str, Any]]:
        """Everything still counted (the server is stopping)."""
        out = list(self._pending.values())
        self._pending.clear()
        return out

    def _take(self, reason: str, now: float) -> dict[str, Any]:
        self._last[reason] = now
        return self._pending.pop(reason)
