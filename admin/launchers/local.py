"""The ``local`` launcher: ``python -m shiftctl.worker SPEC`` as a detached process of this
machine, the files of its run directory as its channel (docs/design.md §5). This is how
shiftctl always ran workers; it is the default."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiftctl.admin.launchers.base import Collected, Liveness
from shiftctl.admin.paths import Paths
from shiftctl.memory.store import Run
from shiftctl.system.fs import LinkedPathError, check_unlinked
from shiftctl.system.proc import kill_groups, proc_stat, process_alive

if TYPE_CHECKING:
    from shiftctl.worker.spec import Spec

START_GRACE_S = 30.0


def read_heartbeat(run_dir: Path, now: float) -> tuple[float | None, float | None]:
    """(seconds since the last beat, seconds since the agent's last output)."""
    path = run_dir / "heartbeat"
    try:
        data = json.loads(path.read_text())
        return now - float(data["ts"]), now - float(data.get("last_output") or data["ts"])
    except FileNotFoundError:
        return None, None
    except (ValueError, KeyError, TypeError, OSError):
        try:
            age = now - path.stat().st_mtime
        except OSError:
            return None, None
        return age, age


def agent_pid(run: Run) -> int | None:
    if not run.run_dir:
        return None
    try:
        pid = json.loads((Path(run.run_dir) / "heartbeat").read_text()).get("agent_pid")
    except (OSError, ValueError, AttributeError):
        return None
    return int(pid) if isinstance(pid, int) else None


class LocalLauncher:
    kind = "local"

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths

    def launch(self, spec: Spec, env: dict[str, str]) -> dict[str, Any]:
        """``python -m shiftctl.worker SPEC`` in its own session: restarting the loop never
        kills it."""
        spec_path = Path(spec.run_dir) / "spec.json"
        with open(Path(spec.run_dir) / "worker.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "shiftctl.worker", str(spec_path)],
                                    cwd=str(spec_path.parent), env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    close_fds=True)
        stat = proc_stat(proc.pid)
        return {"pid": proc.pid, "pgid": proc.pid, "pid_start": stat[1] if stat else None}

    def probe(self, run: Run, now: float) -> Liveness:
        run_dir = Path(run.run_dir) if run.run_dir else None
        hb_age, out_age = read_heartbeat(run_dir, now) if run_dir else (None, None)
        if run.pid:
            alive = process_alive(run.pid, run.pid_start)
        else:  # recorded, but the admin died before it wrote down the pid
            age = hb_age if hb_age is not None else now - run.started_at
            alive = age < START_GRACE_S
        return Liveness(alive=alive, heartbeat_age=hb_age, output_age=out_age,
                        result_ready=bool(run_dir and (run_dir / "result.json").exists()))

    def stop(self, runs: Sequence[Run], grace: float) -> None:
        """SIGTERM each worker's process group (it stops its agent and reports), then
        SIGKILL whatever is left, agents' own groups included."""
        kill_groups([r.pgid for r in runs if r.pgid], grace=grace)
        kill_groups([pid for r in runs if (pid := agent_pid(r))], grace=0.5)

    def end_agent(self, run: Run) -> None:
        """A worker that died without reporting may leave its agent running: end that too."""
        pid = agent_pid(run)
        if pid:
            kill_groups([pid], grace=0.5)

    def collect(self, run: Run) -> Collected:
        from shiftctl.worker.result import ResultError, read  # only when a run ended
        if not run.run_dir:
            return Collected(None, "the run has no run directory")
        run_dir = Path(run.run_dir)
        try:
            if self.paths is not None and run_dir.parent == self.paths.runs:
                check_unlinked(self.paths.root, run_dir / "result.json")
            return Collected(read(run_dir / "result.json"))
        except (ResultError, LinkedPathError) as exc:
            return Collected(None, str(exc), missing="missing" in str(exc))
