"""CLI requests: how ``approve``/``retry``/``cancel`` reach the state db without writing it.

Only the admin (the holder of ``admin.lock``) writes ``state.db``; SQLite before 3.51.3 can
corrupt a WAL database when several processes write and checkpoint at once. A CLI command
that changes state drops a request file here and wakes the loop; the next cycle imports it
as a command and applies it.

``shiftctl serve`` records what it saw the same way (``record``): a request file that the
next cycle turns into an event, so the server never writes the state db. Only the kinds in
``RECORDABLE`` are taken, with bounded data: a request file cannot forge any other event.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from shiftctl.admin.paths import Paths
from shiftctl.memory.store import Store
from shiftctl.system.fs import atomic_write, wake


def submit(paths: Paths, verb: str, *, issue: int | None = None, arg: str = "",
           text: str = "", author: str | None = None) -> Path:
    paths.ensure()
    who = author or f"cli:{os.environ.get('USER') or 'local'}"
    name = f"{time.time():.6f}-{secrets.token_hex(4)}.json"
    path = paths.requests / name
    atomic_write(path, json.dumps({"verb": verb, "issue": issue, "arg": arg, "text": text,
                                   "author": who}))
    wake(paths.wake, "cli")
    return path


RECORDABLE = ("webhook.received", "webhook.rejected")
MAX_FIELDS = 20
MAX_FIELD_CHARS = 300
RESERVED = ("conn", "kind", "issue", "task", "now")  # the event's own parameters


def record(paths: Paths, kind: str, **data: Any) -> Path | None:
    """Queue an event for the next cycle (no wake: recording is never a reason to run).
    Does nothing where there is no runtime directory: that is the cycle's to recreate."""
    assert kind in RECORDABLE, kind
    if not paths.runtime.is_dir():
        return None
    paths.requests.mkdir(exist_ok=True)
    path = paths.requests / f"{time.time():.6f}-{secrets.token_hex(4)}.json"
    atomic_write(path, json.dumps({"event": kind, "data": data}, default=str), durable=False)
    return path


def _bounded(data: Any) -> dict[str, Any]:
    """An event's data from a request file: a few short scalar fields."""
    if not isinstance(data, dict):
        raise ValueError("event data is not a mapping")
    out: dict[str, Any] = {}
    for key, value in list(data.items())[:MAX_FIELDS]:
        if not isinstance(value, (int, float, bool)) and value is not None:
            value = str(value)[:MAX_FIELD_CHARS]
        out[str(key)[:40]] = value
    return out


def _import_event(store: Store, data: dict[str, Any]) -> None:
    kind = data.get("event")
    if kind not in RECORDABLE:
        raise ValueError(f"{kind!r} is not an event a request may record")
    fields = _bounded(data.get("data") or {})
    issue = fields.get("issue")
    if not isinstance(issue, int) or isinstance(issue, bool):
        issue = None
    store.event(str(kind), issue=issue,
                **{k: v for k, v in fields.items() if k not in RESERVED})


def import_requests(paths: Paths, store: Store) -> int:
    """Turn request files into commands (once each, by file name) or, for ``record``'s
    files, events; then remove them."""
    try:
        files = sorted(p for p in paths.requests.iterdir()
                       if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return 0
    n = 0
    for path in files:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "event" in data:
                _import_event(store, data)
                path.unlink(missing_ok=True)
                continue
            if not isinstance(data, dict) or not isinstance(data.get("verb"), str):
                raise ValueError("not a request")
            issue = data.get("issue")
            store.add_command(source=f"cli:{path.name}", verb=data["verb"],
                              issue=issue if isinstance(issue, int) else None,
                              author=str(data.get("author") or "cli"),
                              arg=str(data.get("arg") or ""), text=str(data.get("text") or ""))
            n += 1
        except (OSError, ValueError) as exc:
            store.event("request.invalid", file=path.name, error=str(exc))
        path.unlink(missing_ok=True)
    return n
