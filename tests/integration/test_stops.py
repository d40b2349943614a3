"""Stopping a worker: it is quick, it is reported, and nothing of the agent survives it.

The attacker is ``tests/agents/escaper.py``: it double-forks a ``setsid`` child (a new
session and group, orphaned) that would write a marker file a few seconds later.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from shiftctl.admin.launchers.local import LocalLauncher
from shiftctl.admin.steps.dispatch import terminate
from shiftctl.memory.store import Run
from shiftctl.system.proc import kill_groups

from support.agents import agent_argv
from support.repos import wait_for
from support.worker import run_worker, write_spec

ESCAPE_DELAY = 2.0


def _escaper_env(tmp_path: Path, sleep: float) -> dict[str, str]:
    return {"ESCAPE_MARKER": str(tmp_path / "escaped"), "ESCAPE_PIDFILE": str(tmp_path / "pid"),
            "ESCAPE_DELAY": str(ESCAPE_DELAY), "ESCAPE_SLEEP": str(sleep)}


def _running(pid: int) -> bool:
    """Is ``pid`` a running (not zombie) process of the escaper?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X") and b"escaper.py" in cmdline


def _assert_escapee_gone(tmp_path: Path) -> None:
    pid = int((tmp_path / "pid").read_text())
    wait_for(lambda: not _running(pid), timeout=2.0, what="the setsid child's end")
    time.sleep(ESCAPE_DELAY + 0.5)  # past the moment it would have written its marker
    assert not (tmp_path / "escaped").exists()


def test_a_stop_reaps_its_child_and_returns_as_soon_as_nothing_runs() -> None:
    child = subprocess.Popen(["sleep", "30"], process_group=0)
    t0 = time.monotonic()
    kill_groups([child.pid], grace=5.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.5, f"waited {elapsed:.1f}s for a process that was already dead"
    assert not Path(f"/proc/{child.pid}").exists(), "the killed child was left a zombie"


def test_a_stopped_worker_reports_and_its_agents_setsid_descendant_dies(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, argv=agent_argv("escaper.py"),
                      env=_escaper_env(tmp_path, sleep=60))
    run_dir = Path(spec.run_dir)
    started = LocalLauncher().launch(spec, dict(os.environ))
    pid, start = started["pid"], started["pid_start"]
    wait_for(lambda: b"now working" in _read(run_dir / "agent.log"), what="the agent")
    run = Run(id="run1", issue=1, started_at=time.time(), pid=pid, pgid=pid, pid_start=start,
              run_dir=str(run_dir))
    t0 = time.monotonic()
    terminate(run)  # what the admin does for a kill, a cancel or a replan
    elapsed = time.monotonic() - t0
    assert elapsed < 4.0, f"the stop took {elapsed:.1f}s (the grace is 5s)"
    result = json.loads((run_dir / "result.json").read_text())
    assert result["error"] == "attempt terminated"
    log = _read(run_dir / "agent.log")
    assert b"now working" in log and b"killing process group" in log
    _assert_escapee_gone(tmp_path)


def test_an_agents_setsid_descendant_dies_when_the_agent_finishes(tmp_path: Path) -> None:
    result = run_worker(tmp_path, argv=agent_argv("escaper.py"),
                        env=_escaper_env(tmp_path, sleep=0))
    assert result["outcome"] == "failed"  # it changed nothing: not a success
    assert b"left behind" in _read(Path(result["_run_dir"]) / "agent.log")
    _assert_escapee_gone(tmp_path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


