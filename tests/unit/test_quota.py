"""Pacing by the tracker's quota and the GitHub cursor's choices: pure functions, plain data."""
from __future__ import annotations

from shiftctl.admin.tracker.github.cursor import ADVANCE_AFTER, Cursor, next_since, wants_comments
from shiftctl.admin.tracker.quota import describe, pause

NOW = 1_000_000.0


def rate(remaining: int, reset_in: float = 1800, requests: int = 4, **kw: float) -> dict:
    return {"limit": 5000, "remaining": remaining, "reset_at": NOW + reset_in,
            "requests": requests, **kw}


def test_plenty_of_quota_never_slows_the_loop() -> None:
    assert pause(None, NOW) == 0 and pause(rate(4000), NOW) == 0
    assert describe(rate(4000), NOW) == "4000/5000 requests left, resets in 30 min"


def test_a_low_quota_is_spread_until_the_reset() -> None:
    assert pause(rate(400), NOW) == 1800 * 4 / 400  # 400 left, 4 per cycle: 100 cycles
    assert pause(rate(2), NOW) == 1800  # never longer than the reset
    assert "quota low" in (describe(rate(400), NOW) or "")


def test_a_spent_quota_or_a_retry_after_waits_outright() -> None:
    assert pause(rate(0, reset_in=600), NOW) == 600
    assert pause(rate(4000, limited_until=NOW + 90), NOW) == 90
    assert "rate-limited" in (describe(rate(4000, limited_until=NOW + 90), NOW) or "")
    assert pause(rate(0, reset_in=-5), NOW) == 0  # the reset has passed


def test_the_listing_stays_put_while_changes_are_few() -> None:
    cur = Cursor(since="2026-01-01T00:00:00Z", etag='W/"x"')
    assert next_since(cur, first=False, newest="2026-01-02T00:00:00Z", server_date=None,
                      changed=3) == ("2026-01-01T00:00:00Z", True)
    since, keep = next_since(cur, first=False, newest="2026-01-02T00:00:00Z", server_date=None,
                             changed=ADVANCE_AFTER + 1)
    assert (since, keep) == ("2026-01-01T23:59:00Z", False)  # a minute's overlap
    first, keep = next_since(Cursor(), first=True, newest=None,
                             server_date="Tue, 10 Oct 2017 16:00:00 GMT", changed=0)
    assert (first, keep) == ("2017-10-10T15:59:00Z", False)


def test_comments_are_fetched_only_when_the_count_moved() -> None:
    assert not wants_comments({}, 1, 0) and wants_comments({}, 1, 2)
    assert not wants_comments({1: 2}, 1, 2) and wants_comments({1: 2}, 1, 3)
    assert Cursor.decode(Cursor(since="s", etag="e", seen={3: 1}).encode()) == \
        Cursor(since="s", etag="e", seen={3: 1})
    assert Cursor.decode("17") is None and Cursor.decode(None) is None  # the local tracker's
