"""CLI requests: how ``approve``/``retry``/``cancel`` reach the state db without writing it.

Only the admin (the holder of ``admin.lock``) writes ``state.db``; SQLite before 3.51.3 can
corrupt a WAL database when several processes write and checkpoint at once. A CLI command
that changes state drops a request file here and wakes the loop; the next cycle imports it
as a command and applies it.
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
from shiftctl.system.fs import atomic_write, touch


def submit(paths: Paths, verb: str, *, issue: int | None = None, arg: str = "",
           text: str = "", author: str | None = None) -> Path:
    paths.ensure()
    who = author or f"cli:{os.environ.get('USER') or 'local'}"
    name = f"{time.time():.6f}-{secrets.token_hex(4)}.json"
    path = paths.requests / name
    atomic_write(path, json.dumps({"verb": verb, "issue": issue, "arg": arg, "text": text,
                                   "author": who}))
    touch(paths.wake)
    return path


def import_requests(paths: Paths, store: Store) -> int:
    """Turn request files into commands (once each, by file name), then remove them."""
    try:
        files = sorted(p for p in paths.requests.iterdir()
                       if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return 0
    n = 0
    for path in files:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
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
