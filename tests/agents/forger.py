"""A hostile agent, and the attack on the event log that any writer of state.db can make.

``forge`` is that attack: rewrite an event's data and recompute the SHA-256 chain of every
later row (so the chain alone still verifies), and/or delete the newest events. It does not
know the audit key; it leaves the ``mac``/``key_id`` columns as they were, which is all a
writer without the key can do. Tests call it directly, and as an agent it runs it for real.

As a ``command`` agent (argv PROMPT_FILE WORKTREE), driven by environment variables:
  FORGE_DB=path     the state db to attack (the repository's .shiftctl/state.db)
  FORGE_EDIT=n      rewrite event n and recompute every later hash
  FORGE_DROP=n      delete the n newest events
  FORGE_PEEK=dir    try to list and read every file in dir (the audit key's directory)
It writes forger.json in its worktree: what it could read, and whether the forgery took.
Self-contained (standard library only) so that it also runs inside the bwrap sandbox.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _digest(prev: str, row_id: int, ts: float, kind: str, issue: Any, task: Any,
            data: str) -> str:
    payload = json.dumps([row_id, repr(ts), kind, issue, task, data], separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()


def forge(db: Path, *, edit: int = 0, drop: int = 0) -> None:
    """Rewrite event ``edit`` (recomputing the chain after it) and/or cut ``drop`` events."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        if drop:
            conn.execute("DELETE FROM events WHERE id > (SELECT MAX(id) FROM events) - ?",
                         (drop,))
        if edit:
            conn.execute("UPDATE events SET data = ? WHERE id = ?",
                         (json.dumps({"forged": True, "by": "a db writer"}), edit))
            row = conn.execute("SELECT hash FROM events WHERE id = ?", (edit - 1,)).fetchone()
            prev = row[0] if row else GENESIS
            later = conn.execute("SELECT id, ts, kind, issue, task, data FROM events "
                                 "WHERE id >= ? ORDER BY id", (edit,)).fetchall()
            for row_id, ts, kind, issue, task, data in later:
                digest = _digest(prev, row_id, ts, kind, issue, task, data)
                conn.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?",
                             (prev, digest, row_id))
                prev = digest
        conn.commit()
    finally:
        conn.close()


def peek(directory: Path) -> dict[str, str]:
    """What of ``directory`` this process can see and read."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        return {"(listing)": f"denied: {exc}"}
    seen: dict[str, str] = {"(listing)": f"{len(names)} entries"}
    for name in names:
        try:
            seen[name] = f"read {len((directory / name).read_bytes())} bytes"
        except OSError as exc:
            seen[name] = f"denied: {exc}"
    return seen


def main() -> None:
    worktree = Path(sys.argv[2])
    report: dict[str, Any] = {}
    if os.environ.get("FORGE_PEEK"):
        report["peek"] = peek(Path(os.environ["FORGE_PEEK"]))
    if os.environ.get("FORGE_DB"):
        try:
            forge(Path(os.environ["FORGE_DB"]), edit=int(os.environ.get("FORGE_EDIT") or 0),
                  drop=int(os.environ.get("FORGE_DROP") or 0))
            report["forged"] = "written"
        except (OSError, sqlite3.Error) as exc:
            report["forged"] = f"failed: {exc}"
    (worktree / "forger.json").write_text(json.dumps(report, indent=1) + "\n")
    print("done")


if __name__ == "__main__":
    main()
