"""Signatures on worker hosts' returns: a valid one verifies; any change to the document, a
different key, or a malformed envelope is refused."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.system.signing import (
    SignatureError,
    canonical,
    check_public,
    new_key,
    public_of,
    sign,
    verify,
)

KEY = new_key()
DOC = {"v": 1, "host": "h1", "run_id": "1-t1-a1", "base_sha": "a" * 40,
       "result": {"outcome": "succeeded", "commits": ["b" * 40]}, "bundle_sha256": "c" * 64}


def test_a_signed_document_verifies_with_the_hosts_public_key() -> None:
    assert verify(public_of(KEY), sign(KEY, DOC)) == DOC


def test_the_canonical_form_ignores_key_order_only() -> None:
    assert canonical({"a": 1, "b": [1, 2]}) == canonical({"b": [1, 2], "a": 1})
    assert canonical({"a": 1}) != canonical({"a": 1.5})


@pytest.mark.parametrize("change", [
    lambda d: d.update(run_id="1-t2-a1"),
    lambda d: d["result"].update(outcome="failed"),
    lambda d: d["result"]["commits"].append("d" * 40),
    lambda d: d.update(extra=True),
    lambda d: d.pop("bundle_sha256"),
])
def test_any_change_to_a_signed_document_is_refused(change: Any) -> None:
    signed = sign(KEY, DOC)
    signed = {"doc": __import__("copy").deepcopy(signed["doc"]), "sig": signed["sig"]}
    change(signed["doc"])
    with pytest.raises(SignatureError, match="does not match"):
        verify(public_of(KEY), signed)


def test_another_hosts_key_does_not_verify() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(public_of(new_key()), sign(KEY, DOC))


@pytest.mark.parametrize("signed", [
    None, [], {"doc": DOC}, {"doc": DOC, "sig": 3}, {"doc": "x", "sig": "AA=="},
    {"doc": DOC, "sig": "not base64!"}, {"doc": DOC, "sig": "AA==", "more": 1},
])
def test_a_malformed_envelope_is_refused(signed: Any) -> None:
    with pytest.raises(SignatureError):
        verify(public_of(KEY), signed)


@pytest.mark.parametrize("public", ["", "ed25519:", "ed25519:!!", "rsa:AAAA",
                                    "ed25519:" + "A" * 8])
def test_a_malformed_public_key_is_refused(public: str) -> None:
    with pytest.raises(SignatureError):
        check_public(public)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=0, max_size=100))
def test_no_random_signature_verifies(sig: bytes) -> None:
    import base64
    with pytest.raises(SignatureError):
        verify(public_of(KEY), {"doc": DOC, "sig": base64.b64encode(sig).decode()})
