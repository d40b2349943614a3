"""Audit key files: one secret per repository, 0600 in a 0700 directory outside the repo.

The admin loads the key and hands it to the state store, which only computes with it. A key
is created on first use, under the admin lock, by linking a fully written temporary file into
place: a crash never leaves a half-written key, and two creators never both win.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from shiftctl.admin.paths import Paths
from shiftctl.memory.events import KEY_BYTES, AuditKey, sign_with
from shiftctl.memory.store import Store

SUFFIX = ".key"


class KeyFileError(Exception):
    """A key file exists but cannot be used; the message names it."""


def private_dir(path: Path) -> None:
    """Our directory (``.../shiftctl/audit`` and its ``shiftctl`` parent) with mode 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.mkdir(exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def read_key(path: Path) -> AuditKey:
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeyFileError(f"{path}: not an audit key (expected {KEY_BYTES * 2} hex digits)") \
            from exc
    if len(secret) != KEY_BYTES:
        raise KeyFileError(f"{path}: not an audit key (expected {KEY_BYTES * 2} hex digits, "
                        f"found {len(text)})")
    return AuditKey(secret)


def load(paths: Paths) -> AuditKey | None:
    """This repository's key, or None when there is none (yet, or on this machine)."""
    try:
        return read_key(paths.audit_key)
    except FileNotFoundError:
        return None


def load_or_create(paths: Paths) -> AuditKey:
    """This repository's key, made on first use. Call it as the state db's single writer."""
    found = load(paths)
    if found is not None:
        return found
    private_dir(paths.audit_dir)
    key = AuditKey.generate()
    fd, tmp = tempfile.mkstemp(prefix=".new-key-", dir=paths.audit_dir)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.secret.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, paths.audit_key)
        except FileExistsError:  # another writer made one first: use that one
            return read_key(paths.audit_key)
    finally:
        os.unlink(tmp)
    return key


def all_keys(paths: Paths) -> tuple[dict[str, AuditKey], list[str]]:
    """Every key in the audit directory by key id (a moved repository's old key included),
    and what could not be read."""
    keys: dict[str, AuditKey] = {}
    problems: list[str] = []
    try:
        files = sorted(paths.audit_dir.glob(f"*{SUFFIX}"))
    except OSError as exc:
        return keys, [f"{paths.audit_dir}: {exc}"]
    for path in files:
        try:
            key = read_key(path)
        except (OSError, KeyFileError) as exc:
            problems.append(str(exc))
            continue
        keys[key.id] = key
    return keys, problems


def exposure(paths: Paths) -> str | None:
    """Why the key is readable by others than its owner, if it is."""
    for path, most in ((paths.audit_key, 0o600), (paths.audit_dir, 0o700)):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & ~most:
            return f"{path} has mode {mode:04o} (expected {most:04o}): chmod {most:o} {path}"
    return None


def attach(store: Store, paths: Paths) -> tuple[AuditKey | None, str | None]:
    """Sign every event this store writes from now on; (key, None) or (None, why not).

    Without a usable key the store still works (unsigned events, which ``audit verify``
    then reports): losing the audit trail's protection must not stop the work.
    """
    try:
        key = load_or_create(paths)
    except (OSError, KeyFileError) as exc:
        return None, f"audit key {paths.audit_key}: {exc}"
    sign_with(store.conn, key)
    return key, None
