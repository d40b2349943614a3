"""Accepting what a worker host returns (docs/design.md §5): a signed document and a git
bundle of its new commits. Checked in this order, and only then fetched into the task branch:

1. the signature, by the key registered for the host the document names;
2. the document: this run, the base commit the admin sent, the task branch, the bundle's
   SHA-256 and size (under the cap), a result that follows the result schema;
3. the bundle: ``git bundle verify`` (its prerequisites are in the repository), exactly one
   ref, the task branch, whose tip is the result's last commit, whose history contains the
   base commit, and whose new commits are exactly the result's commits.

Anything else raises ``Forged`` and nothing reaches a branch: the run fails as ``tampered``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiftctl.system import bundles, git
from shiftctl.system.signing import SignatureError, verify
from shiftctl.worker.result import Result, ResultError, validated


class Forged(ValueError):
    """A return that is not what the host was asked for, or not signed by it."""


@dataclass(frozen=True)
class Expected:
    """What the admin sent: the return must be about exactly this."""
    run_id: str
    base_sha: str
    branch: str  # the task branch ("" for a read-only or verify run: no commits may come)
    max_bytes: int = bundles.MAX_BUNDLE_BYTES


def _document(signed: Any, keys: dict[str, str]) -> dict[str, Any]:
    doc = signed.get("doc") if isinstance(signed, dict) else None
    host = doc.get("host") if isinstance(doc, dict) else None
    if not isinstance(host, str) or host not in keys:
        raise Forged(f"the return names host {host!r}, which is not registered "
                     "(shiftctl hosts add)")
    try:
        return verify(keys[host], signed)
    except SignatureError as exc:
        raise Forged(f"host {host!r}: {exc}") from exc


def _matches(doc: dict[str, Any], bundle: bytes, want: Expected) -> Result:
    for name, value in (("run_id", want.run_id), ("base_sha", want.base_sha),
                        ("branch", want.branch)):
        if doc.get(name) != value:
            raise Forged(f"the return is for {name} {doc.get(name)!r}, "
                         f"but this run's is {value!r}")
    if len(bundle) > want.max_bytes:
        raise Forged(f"the bundle is {len(bundle)} bytes (limit {want.max_bytes})")
    if doc.get("bundle_sha256") != hashlib.sha256(bundle).hexdigest():
        raise Forged("the bundle is not the one the host signed (SHA-256 differs)")
    try:
        return validated(doc.get("result"), "the returned result")
    except ResultError as exc:
        raise Forged(str(exc)) from exc


def _check_bundle(repo: Path, path: Path, result: Result, want: Expected) -> str:
    """The bundle's tip, after every check; its objects are in the repository, no ref."""
    try:
        bundles.verify(repo, path)
        refs = bundles.heads(repo, path)
    except bundles.BundleError as exc:
        raise Forged(str(exc)) from exc
    branch_ref = f"refs/heads/{want.branch}"
    if len(refs) != 1 or refs[0][1] != branch_ref:
        raise Forged(f"the bundle must carry exactly one ref, {branch_ref}; it carries "
                     + (", ".join(r for _, r in refs[:10]) or "none"))
    tip = refs[0][0]
    if not result.commits or tip != result.commits[-1]:
        raise Forged("the bundle's tip is not the last commit the result reports")
    try:
        bundles.unbundle(repo, path)
    except bundles.BundleError as exc:
        raise Forged(str(exc)) from exc
    if not git.is_ancestor(repo, want.base_sha, tip):
        raise Forged(f"the returned branch is not based on {want.base_sha[:12]}, "
                     "the commit this run was given")
    if git.commits_between(repo, want.base_sha, tip) != result.commits:
        raise Forged("the bundle's new commits are not the ones the result reports")
    return tip


def accept(repo: Path, signed: Any, bundle: bytes, keys: dict[str, str],
           want: Expected) -> tuple[Result, str]:
    """(the result, the host's name) once every check passed; the task branch then points
    at the returned tip. ``Forged`` otherwise, with nothing written to any ref."""
    doc = _document(signed, keys)
    result = _matches(doc, bundle, want)
    host = str(doc["host"])
    if not bundle:
        if result.commits:
            raise Forged("the result reports commits but no bundle came with it")
        return result, host
    if not want.branch:
        raise Forged("a bundle came back from a run that may not commit")
    fd, name = tempfile.mkstemp(prefix="shiftctl-return-", suffix=".bundle")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(bundle)
        tip = _check_bundle(repo, Path(name), result, want)
    finally:
        os.unlink(name)
    git.run(repo, "update-ref", f"refs/heads/{want.branch}", tip)
    return result, host
