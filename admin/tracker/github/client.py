"""The HTTP side of the GitHub tracker: one PyGithub client, every request through one hook.

PyGithub does the talking (auth, base URL and GHE prefixes, objects, pagination); this
module adds what it lacks for a process that must stay inside GitHub's quotas:

- every request passes ``_request`` (installed on the client's public ``requester``),
  which counts it, reads ``X-RateLimit-*``, and waits out ``Retry-After`` on 429 and 403
  secondary limits with tenacity before PyGithub sees the response, so a write that was
  refused for pacing is simply sent again (nothing is lost);
- an exhausted primary quota, or a wait longer than ``max_wait``, raises ``RateLimited``
  with the reset time, so the cycle ends and the loop sleeps instead of blocking;
- ``get_pages`` is a conditional GET (``If-None-Match``) with ``Link`` pagination: a 304
  does not count against the quota.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import tenacity
from github import Auth, Github, GithubException

from shiftctl.admin.tracker.base import RateLimited, TrackerError

ACCEPT = "application/vnd.github.v3+json"
USER_AGENT = "shiftctl"
MAX_TRIES = 4
SECONDARY_DEFAULT_WAIT = 60.0
_LINK = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')


class _Wait(Exception):
    """A rate-limit answer that says: send it again in ``seconds``."""

    def __init__(self, seconds: float, message: str) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass
class Pages:
    status: int               # 200, or 304 when nothing changed since ``etag``
    etag: str | None
    items: list[Any] = field(default_factory=list)
    date: str | None = None   # the server's clock (``Date``), for cursors


@dataclass
class Rate:
    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_at: float | None = None
    limited_until: float | None = None

    def to_dict(self, requests_made: int) -> dict[str, Any]:
        return {"limit": self.limit, "remaining": self.remaining, "used": self.used,
                "reset_at": self.reset_at, "limited_until": self.limited_until,
                "requests": requests_made}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_links(header: str | None) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(header or "")}


class Client:
    def __init__(self, *, api_url: str, token: str, write_interval: float = 1.0,
                 max_wait: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.gh = Github(base_url=api_url, auth=Auth.Token(token), user_agent=USER_AGENT,
                         timeout=30, retry=None, lazy=True, seconds_between_requests=None,
                         seconds_between_writes=write_interval or None)
        self.requester = self.gh.requester
        self._send = self.requester.requestJson
        self.requester.requestJson = self._request  # type: ignore[method-assign]
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.rate = Rate()

    def close(self) -> None:
        self.gh.close()

    # -- the hook -------------------------------------------------------------------------
    # PyGithub calls requestJson(..., input=body) by keyword, so the hook keeps that name.
    def _request(self, verb: str, url: str, parameters: dict[str, Any] | None = None,
                 headers: dict[str, Any] | None = None,
                 input: Any | None = None,  # noqa: A002 -- PyGithub's keyword, see above
                 cnx: Any | None = None, follow_302_redirect: bool = False
                 ) -> tuple[int, dict[str, Any], str]:
        sent = dict(headers or {})
        sent.setdefault("Accept", ACCEPT)
        self._refuse_if_exhausted()
        answer: tuple[int, dict[str, Any], str] | None = None
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Wait),
            wait=lambda state: state.outcome.exception().seconds,  # type: ignore[union-attr]
            stop=tenacity.stop_after_attempt(MAX_TRIES), sleep=self.sleep, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    answer = self._send(verb, url, parameters, dict(sent), input, cnx,
                                        follow_302_redirect=follow_302_redirect)
                    self.requests += 1
                    self._note(answer[1])
                    self._check(*answer)
        except _Wait as exc:
            until = self.clock() + exc.seconds
            self.rate.limited_until = until
            raise RateLimited(f"GitHub rate limit: {exc}", reset_at=until) from None
        assert answer is not None
        return answer

    def _note(self, headers: dict[str, Any]) -> None:
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if reset is not None and reset > 1e11:  # milliseconds (seen in recorded fixtures)
            reset /= 1000
        if limit is not None:
            self.rate.limit = int(limit)
        if remaining is not None:
            self.rate.remaining = int(remaining)
        used = _number(headers.get("x-ratelimit-used"))
        if used is not None:
            self.rate.used = int(used)
        if reset is not None:
            self.rate.reset_at = reset

    def _refuse_if_exhausted(self) -> None:
        """No request while told to wait, or while the quota is spent until a far reset."""
        r, now = self.rate, self.clock()
        if r.limited_until and r.limited_until > now + self.max_wait:
            raise RateLimited("GitHub asked shiftctl to wait until "
                              f"{time.strftime('%H:%M:%S', time.localtime(r.limited_until))}",
                              reset_at=r.limited_until)
        if r.remaining == 0 and r.reset_at and r.reset_at > now + self.max_wait:
            self.rate.limited_until = r.reset_at
            raise RateLimited(f"GitHub API quota spent ({r.limit} requests); it resets at "
                              f"{time.strftime('%H:%M:%S', time.localtime(r.reset_at))}",
                              reset_at=r.reset_at)

    def _check(self, status: int, headers: dict[str, Any], body: str) -> None:
        if status not in (403, 429):
            return
        now = self.clock()
        retry_after = _number(headers.get("retry-after"))
        try:
            message = str((json.loads(body) or {}).get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        if retry_after is not None:
            wait = retry_after
        elif headers.get("x-ratelimit-remaining") == "0" and self.rate.reset_at:
            wait = max(1.0, self.rate.reset_at - now + 1)
        elif status == 429 or "rate limit" in message.lower():
            wait = SECONDARY_DEFAULT_WAIT  # GitHub: wait at least a minute before retrying
        else:
            return  # a real 403 (permissions): PyGithub raises it
        reason = f"{status} {message or 'rate limited'}"[:200]
        if wait > self.max_wait:
            self.rate.limited_until = now + wait
            raise RateLimited(f"GitHub rate limit: {reason}; retry after {wait:.0f}s",
                              reset_at=now + wait)
        raise _Wait(wait, reason)

    # -- conditional, paginated reads ------------------------------------------------------
    def get_pages(self, url: str, params: dict[str, Any] | None = None, *,
                  etag: str | None = None, max_pages: int = 100) -> Pages:
        """GET every page of a listing; with ``etag``, a 304 on page one means unchanged."""
        headers = {"If-None-Match": etag} if etag else None
        status, hdrs, body = self.requester.requestJson("GET", url, params, headers)
        if status == 304:
            return Pages(304, etag, [], hdrs.get("date"))
        self.raise_for(status, hdrs, body)
        out = Pages(status, hdrs.get("etag"), list(json.loads(body or "[]")), hdrs.get("date"))
        nxt = parse_links(hdrs.get("link")).get("next")
        pages = 1
        while nxt and pages < max_pages:
            status, hdrs, body = self.requester.requestJson("GET", nxt)
            self.raise_for(status, hdrs, body)
            out.items += json.loads(body or "[]")
            nxt = parse_links(hdrs.get("link")).get("next")
            pages += 1
        return out

    def raise_for(self, status: int, headers: dict[str, Any], body: str) -> None:
        if status >= 400:
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                data = {"message": body[:200]}
            raise self.requester.createException(status, headers, data if isinstance(data, dict)
                                                 else {"message": str(data)[:200]})

    def rate_status(self) -> dict[str, Any] | None:
        if self.rate.limit is None and self.rate.limited_until is None:
            return None
        return self.rate.to_dict(self.requests)


def describe(exc: BaseException) -> str:
    """A GitHub failure in one line (never with credentials: PyGithub's messages hold none)."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = data.get("message") or exc.message or ""
        errors = data.get("errors")
        extra = f" {json.dumps(errors)[:300]}" if errors else ""
        return f"{exc.status} {message}{extra}".strip()
    if isinstance(exc, requests.RequestException):
        return f"cannot reach GitHub: {type(exc).__name__}"
    return str(exc)


def as_tracker_error(exc: BaseException, what: str) -> TrackerError:
    if isinstance(exc, TrackerError):
        return exc
    return TrackerError(f"GitHub: {what}: {describe(exc)}")
