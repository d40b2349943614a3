"""Who may reach the dashboard (pure): loopback binds, token rules, Host names."""
from __future__ import annotations

from shiftctl.admin.serve.access import bind_error, host_is_loopback, is_loopback, token_matches


def test_loopback_is_127_slash_8_and_the_ipv6_one_nothing_else() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com",
                                     "127.0.0.1.example.com", ""]))


def test_only_loopback_binds_may_go_without_a_token_and_tokens_are_not_short() -> None:
    assert bind_error("127.0.0.1", None, "T") is None
    assert "without a token" in (bind_error("0.0.0.0", None, "T") or "")
    assert bind_error("0.0.0.0", "x" * 16, "T") is None
    assert "at least 16" in (bind_error("127.0.0.1", "short", "T") or "")


def test_host_headers_name_loopback_with_or_without_a_port() -> None:
    assert all(map(host_is_loopback, ["127.0.0.1:8765", "localhost", "[::1]:80", "LOCALHOST:1"]))
    assert not any(map(host_is_loopback, [None, "", "evil.example", "evil.example:8765",
                                          "127.0.0.1.nip.io", "[::2]:80"]))


def test_tokens_match_exactly() -> None:
    token = "0123456789abcdef"
    assert token_matches(token, token)
    assert not token_matches(token + "x", token)
    assert not token_matches(token[:-1], token)
    assert not token_matches(None, token) and not token_matches("", token)
    assert not token_matches("ünïcode-0123456789", token)
