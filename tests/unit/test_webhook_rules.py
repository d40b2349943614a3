"""The pure side of webhooks: signatures, what is news, replays, and how refusals are
recorded without letting a flood through (time passed in)."""
from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from shiftctl.admin.serve.hooks import SeenDeliveries, Throttle, should_wake, verify

SECRET = "s3cret"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_only_the_exact_sha256_signature_of_the_exact_body_passes() -> None:
    body = b'{"action": "opened"}'
    assert verify(body, signed(body), SECRET).ok
    assert not verify(body + b" ", signed(body), SECRET).ok
    assert not verify(body, signed(body, "other"), SECRET).ok
    assert not verify(body, signed(body).upper().replace("SHA256", "sha256"), SECRET).ok
    assert verify(body, None, SECRET).why.startswith("unsigned")
    assert verify(body, "", SECRET).why.startswith("unsigned")
    assert verify(body, "sha1=" + hmac.new(SECRET.encode(), body, "sha1").hexdigest(),
                  SECRET).why == "not signed with sha256"
    assert verify(body, signed(body), None).why == "no webhook secret is configured"
    assert verify(body, signed(body), "").why == "no webhook secret is configured"


@given(st.binary(max_size=300), st.text(max_size=120))
def test_no_header_whatever_its_bytes_passes_or_crashes(body: bytes, header: str) -> None:
    verdict = verify(body, header, SECRET)
    assert verdict.ok == (header.strip() == signed(body))


def test_news_is_a_followed_event_about_this_repository_by_someone_else() -> None:
    about = {"event": "issues", "action": "labeled", "repository": "Octo/Repo",
             "sender": "alice"}
    assert should_wake("issues", about, "octo/repo", "bot") == (True, "issues labeled")
    assert not should_wake("issues", about | {"sender": "bot"}, "octo/repo", "bot")[0]
    assert not should_wake("issues", about, "octo/other", "bot")[0]
    assert not should_wake("issues", about, None, "bot")[0]  # not a GitHub tracker
    assert not should_wake("ping", about, "octo/repo", "bot")[0]
    assert not should_wake("push", about, "octo/repo", "bot")[0]
    assert should_wake("label", about, "octo/repo", None)[0]  # bot unknown: wake


def test_a_delivery_id_counts_once_within_memory() -> None:
    seen = SeenDeliveries(size=3)
    assert [seen.first_time(d) for d in "abca"] == [True, True, True, False]
    for d in "xyz":
        seen.first_time(d)
    assert seen.first_time("a")  # forgotten after 3 newer ones


def test_refusals_are_recorded_once_per_reason_and_window_and_the_rest_counted() -> None:
    t = Throttle(window=2.0)
    first = t.note("unsigned", 100.0, remote="1.2.3.4")
    assert first is not None and first["count"] == 1
    assert [t.note("unsigned", 100.0 + i / 10) for i in range(1, 10)] == [None] * 9
    other = t.note("wrong signature", 100.5)
    assert other is not None and other["count"] == 1  # each reason on its own
    assert t.due(101.0) == []
    later = t.due(102.1)
    assert [(r["reason"], r["count"], r["first_at"], r["last_at"]) for r in later] == [
        ("unsigned", 9, 100.1, 100.9)]
    t.note("unsigned", 102.2)
    assert [r["count"] for r in t.drain()] == [1]
    assert t.drain() == []
