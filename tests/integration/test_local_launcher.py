"""The local launcher, through the seam alone: it starts a real worker process, sees it live
and beating, stops it (agent included), and collects what it reported."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from shiftctl.admin.launchers.local import LocalLauncher, agent_pid, process_alive
from shiftctl.memory.store import Run

from support.agents import agent_argv
from support.repos import wait_for
from support.worker import write_spec


def test_launch_probe_stop_and_collect_a_real_worker(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, argv=agent_argv("scripted.py"),
                      env={"AGENT_SLEEP": "60", "AGENT_WRITE": "a.txt:a"})
    launcher = LocalLauncher()
    started = launcher.launch(spec, dict(os.environ))
    run = Run(id=spec.run_id, issue=1, started_at=time.time(), run_dir=spec.run_dir, **started)
    # the worker is this test's child: reap it when it ends (an admin's cycle exits, and its
    # workers are reaped by init), or its zombie would count as alive
    threading.Thread(target=os.waitpid, args=(run.pid, 0), daemon=True).start()
    wait_for(lambda: agent_pid(run) is not None)
    seen = launcher.probe(run, time.time())
    assert seen.alive and seen.heartbeat_age is not None and seen.heartbeat_age < 5
    assert not seen.result_ready
    agent = agent_pid(run)
    t0 = time.monotonic()
    launcher.stop([run], grace=30.0)
    assert time.monotonic() - t0 < 25  # it ended on SIGTERM, reporting, not on SIGKILL
    wait_for(lambda: not launcher.probe(run, time.time()).alive)
    assert not process_alive(agent, None)
    got = launcher.collect(run)
    assert got.result is not None and got.result.outcome == "failed"
    assert got.result.error == "attempt terminated" and not got.imposed


def test_a_worker_that_wrote_nothing_is_collected_as_missing(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, argv=agent_argv("scripted.py"))
    run = Run(id=spec.run_id, issue=1, started_at=time.time() - 100, run_dir=spec.run_dir)
    launcher = LocalLauncher()
    assert not launcher.probe(run, time.time()).alive  # never started, past the start grace
    got = launcher.collect(run)
    assert got.result is None and got.missing and "missing" in got.problem
