"""One worker attempt from a hand-made ``spec.json``: ``python -m shiftctl.worker``, real git."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from shiftctl.worker.spec import AgentSpec, CheckSpec, Spec, TaskSpec

from support.repos import git, make_repo


def write_spec(tmp_path: Path, *, kind: str = "command", argv: Any = (), env: Any = None,
               body: str = "", checks: Any = (), stall: float = 30, timeout: float = 60,
               keep: bool = False, name: str = "run1", repo: Path | None = None,
               sandbox_kind: str = "none") -> Spec:
    """A work run's ``spec.json`` on a fresh repository (or ``repo``), written to its run
    directory."""
    repo = repo or make_repo(tmp_path / "repo")
    run_dir = tmp_path / "runs" / name
    run_dir.mkdir(parents=True)
    prompt = run_dir / "prompt.md"
    prompt.write_text("# Your task: demo task\n")
    spec = Spec(run_id=name, run_dir=str(run_dir), repo=str(repo),
                worktree=str(repo / ".shiftctl" / "worktrees" / "1-t1"), branch="shiftctl/1-t1",
                base_ref="main", base_sha=git(repo, "rev-parse", "main"),
                task=TaskSpec(issue=1, key="t1", title="demo task", body=body),
                agent=AgentSpec(profile="p", kind=kind, argv=list(argv), env=dict(env or {}),
                                task_timeout=timeout, stall_timeout=stall,
                                sandbox=sandbox_kind),
                prompt_file=str(prompt), checks=[CheckSpec(*c) for c in checks],
                keep_branch=keep, wake_file=str(tmp_path / "wake"), heartbeat_s=0.2)
    (run_dir / "spec.json").write_text(json.dumps(spec.to_dict()))
    (repo / ".shiftctl").mkdir(exist_ok=True)
    (repo / ".shiftctl" / ".gitignore").write_text("*\n")
    return spec


def run_worker(tmp_path: Path, *, worker_env: dict[str, str] | None = None,
               timeout: float = 60, **kw: Any) -> dict[str, Any]:
    spec = write_spec(tmp_path, timeout=timeout, **kw)
    run_dir, repo = Path(spec.run_dir), Path(spec.repo)
    proc = subprocess.run([sys.executable, "-m", "shiftctl.worker", str(run_dir / "spec.json")],
                          env=worker_env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout + 60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run_dir / "result.json").read_text())
    result["_repo"] = repo
    result["_run_dir"] = run_dir
    return result
