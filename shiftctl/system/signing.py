"""Signatures on what a worker host returns (docs/design.md §5): Ed25519, one key per host.

A host signs a small JSON document (canonical form: sorted keys, no spaces, ASCII) that names
the run, the commit it was given, its result and the SHA-256 of the git bundle it returns; the
admin verifies it with the public key it registered for that host. Pure: no files, no git.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "ed25519:"
MAX_SIGNED_BYTES = 16 * 1024 * 1024


class SignatureError(ValueError):
    """A signed document that is malformed or whose signature does not verify."""


def new_key() -> bytes:
    """A fresh private key, as unencrypted PKCS#8 PEM (the host keeps it, mode 0600)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def _private(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"not a private key in PEM: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("the private key is not an Ed25519 key")
    return key


def public_of(pem: bytes) -> str:
    """The public half of a private key, as ``ed25519:<base64>`` (what the admin registers)."""
    raw = _private(pem).public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode()


def _public(text: str) -> Ed25519PublicKey:
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise SignatureError(f"a public key reads {PREFIX}<base64>")
    try:
        raw = base64.b64decode(text[len(PREFIX):], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"not an Ed25519 public key: {exc}") from exc


def check_public(text: str) -> str:
    """``text`` when it is a well-formed public key; ``SignatureError`` otherwise."""
    _public(text)
    return text


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode()


def sign(pem: bytes, doc: dict[str, Any]) -> dict[str, Any]:
    """``{"doc": doc, "sig": base64}``: the signature covers the canonical form of ``doc``."""
    return {"doc": doc, "sig": base64.b64encode(_private(pem).sign(canonical(doc))).decode()}


def verify(public: str, signed: Any) -> dict[str, Any]:
    """The document, when ``signed`` carries a valid signature by ``public``'s key."""
    if not isinstance(signed, dict) or set(signed) != {"doc", "sig"} \
            or not isinstance(signed["doc"], dict) or not isinstance(signed["sig"], str):
        raise SignatureError('expected {"doc": {...}, "sig": "<base64>"} and nothing else')
    try:
        body = canonical(signed["doc"])
        sig = base64.b64decode(signed["sig"], validate=True)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise SignatureError(f"cannot read the signed document: {exc}") from exc
    if len(body) > MAX_SIGNED_BYTES:
        raise SignatureError(f"the signed document is {len(body)} bytes "
                             f"(limit {MAX_SIGNED_BYTES})")
    try:
        _public(public).verify(sig, body)
    except InvalidSignature:
        raise SignatureError("the signature does not match the document and the host's "
                             "registered key") from None
    return signed["doc"]
