"""The one redaction step (admin/redact.py): which values are secrets, and that none survives in
any form git, HTTP or a careless check prints them."""
from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.admin.config import parse
from shiftctl.admin.redact import REDACTED, Redactor, secret_values

ANTHROPIC = "sk-ant-api03-" + "Q" * 40
GH = "ghp_" + "A1b2C3d4" * 5
ENV = {"ANTHROPIC_API_KEY": ANTHROPIC, "MY_SERVICE_TOKEN": "tok-0123456789", "HOME": "/root",
       "DB_Password": "correct horse battery", "AWS_SECRET_ACCESS_KEY": "aws/secret+value=",
       "GH_CREDENTIALS": "cred-cred-cred", "SHORT_KEY": "1234", "PATH": "/usr/bin:/bin",
       "CUSTOM_GH": GH, "OPENAI_BASE_URL": "http://127.0.0.1:9999/v1",
       "LANG": "C.UTF-8"}


def config() -> object:
    return parse({"tracker": {"kind": "github", "github": {"repo": "o/r",
                                                            "token_env": "CUSTOM_GH"}},
                  "agents": {"default": "a", "profiles": {"a": {
                      "kind": "command", "argv": ["x"], "pass_env": ["OPENAI_BASE_URL"],
                      "env": {"AGENT_KNOB": "a long test knob value",
                              "VENDOR_API_KEY": "vendor-key-in-yaml"}}}}}, Path("/r"))


def test_secret_values_come_from_names_the_token_variable_and_profiles() -> None:
    values = set(secret_values(config(), ENV))
    assert {ANTHROPIC, "tok-0123456789", "correct horse battery", "aws/secret+value=",
            "cred-cred-cred", "1234", GH, "http://127.0.0.1:9999/v1",
            "vendor-key-in-yaml"} <= values
    assert "/root" not in values and "/usr/bin:/bin" not in values and "C.UTF-8" not in values
    assert "a long test knob value" not in values  # a setting in committed yaml


def test_every_secret_and_its_git_and_url_forms_become_redacted() -> None:
    r = Redactor.build(config(), ENV)
    basic = base64.b64encode(f"x-access-token:{GH}".encode()).decode()
    text = (f"env:\nANTHROPIC_API_KEY={ANTHROPIC}\nMY_SERVICE_TOKEN=tok-0123456789\n"
            f"DB_Password=correct horse battery\nAuthorization: Basic {basic}\n"
            f"url=https://u:{quote('aws/secret+value=', safe='')}@h/x\nGH={GH}\n"
            "SHORT_KEY=1234 HOME=/root\n")
    out = r.redact(text)
    for secret in (ANTHROPIC, "tok-0123456789", "correct horse battery", basic, GH,
                   quote("aws/secret+value=", safe="")):
        assert secret not in out
    assert "SHORT_KEY=1234 HOME=/root" in out  # too short to be a secret; not one
    assert out.count(REDACTED) == 6


def test_the_review_scan_patterns_are_redacted_without_knowing_the_value() -> None:
    r = Redactor()
    private = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nAAAABG5vbmUA\n"
               "-----END OPENSSH PRIVATE KEY-----")
    text = (f"a AKIAABCDEFGHIJKLMNOP b {GH} c sk-{'x' * 30} d xoxb-1234567890-abc "
            f"e AIza{'B' * 35} f\n{private}\nafter\n-----BEGIN RSA PRIVATE KEY-----\ncut off")
    out = r.redact(text)
    assert out == (f"a {REDACTED} b {REDACTED} c {REDACTED} d {REDACTED} e {REDACTED} f\n"
                   f"{REDACTED}\nafter\n{REDACTED}")


def test_a_leading_marker_is_redacted_on_its_own_so_lookups_still_match() -> None:
    r = Redactor.of(["shiftctl-secret-9"])
    marker = "<!-- shiftctl:question:4:t1:2 -->"
    assert r.redact(marker + "\nQ: shiftctl-secret-9?") == marker + f"\nQ: {REDACTED}?"
    assert r.redact(marker) == marker
    # a value that spans the marker's end cannot make the two disagree
    r2 = Redactor.of(["2 -->\nQ"])
    assert r2.redact(marker + "\nQ").startswith(r2.redact(marker))


def test_the_longest_value_wins_when_one_contains_another() -> None:
    r = Redactor.of(["abcdefgh", "abcdefgh-and-more"])
    assert r.redact("x abcdefgh-and-more y") == f"x {REDACTED} y"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=8, max_size=40).filter(lambda v: len(v.strip()) >= 8
                                              and "[" not in v and "]" not in v),
       st.text(max_size=60), st.text(max_size=60))
def test_no_value_survives_wherever_it_sits(secret: str, before: str, after: str) -> None:
    # (a value with a bracket could re-form across the "[redacted]" put in its place)
    out = Redactor.of([secret]).redact(before + secret + after)
    assert secret not in out
