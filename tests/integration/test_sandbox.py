"""sandbox: bwrap — a read-only system, a writable worktree, a private /tmp; or no start."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from shiftctl.system import sandbox

from support.agents import AGENTS
from support.project import Project
from support.repos import git, outside_tmp

needs_bwrap = pytest.mark.skipif(
    sandbox.probe() is not None and os.environ.get("SHIFTCTL_REQUIRE_BWRAP") != "1",
    reason=f"bwrap cannot run here: {sandbox.probe()}")



@needs_bwrap
def test_a_sandboxed_agent_cannot_write_outside_its_worktree(project: Project,
                                                            tmp_path: Path) -> None:
    # the sandbox's private /tmp hides whatever lies under /tmp: run the probe from outside
    home = outside_tmp("sandbox-probe")
    script = Path(shutil.copy(AGENTS / "sandbox_probe.py", home))
    python = str(Path(sys.executable).resolve())
    tmp_probe = Path("/tmp/shiftctl-sandbox-probe.txt")
    tmp_probe.unlink(missing_ok=True)
    project.configure(agents={"default": "boxed", "profiles": {"boxed": {
        "kind": "command", "sandbox": "bwrap",
        "argv": [python, str(script), "{prompt_file}", "{worktree}"]}}},
        checks=[{"name": "boxed-check", "run": f"touch {project.root}/check-escaped || true; "
                 "touch check-inside", "timeout": 30}])
    n = project.file_issue("Probe", "- [ ] probe the sandbox\n")
    try:
        project.run()
        escaped_beside_script = (home / "escaped.txt").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert project.tasks(n)["t1"].state == "done"
    report = json.loads(git(project.root, "show", f"shiftctl/issue-{n}:report.json"))
    assert report["worktree"] == "wrote"
    assert report["system"] != "wrote" and report["git"] != "wrote", report  # read-only
    assert not escaped_beside_script
    assert not (project.root / "escaped.txt").exists()  # (under /tmp: a private tmpfs)
    assert not (Path(os.environ["HOME"]) / "escaped.txt").exists()
    assert not (project.root / ".git" / "escaped").exists()
    assert report["tmp"] == "wrote" and not tmp_probe.exists()  # a private /tmp
    assert report["pid1"].endswith("bwrap")  # its own pid namespace
    assert not (project.root / "check-escaped").exists()  # checks run boxed too
    run = project.runs(n)[0]
    assert run.outcome == "succeeded"


def test_a_sandboxed_profile_refuses_to_start_where_bwrap_cannot_run(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "probe", lambda: "bwrap cannot run here: simulated")
    project.configure(sandbox="bwrap")
    n = project.file_issue("Boxed", "- [ ] go\n  ```sh\n  echo go > go\n  ```\n")
    project.run()
    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and "requires sandbox bwrap" in task.reason
    assert project.runs(n) == []
    doctor = project.cli("doctor", check=False)
    assert "sandbox" in doctor.stdout


def test_the_worker_refuses_too_when_bwrap_is_missing(tmp_path: Path) -> None:
    from support.worker import run_worker
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "bash", "sh", "env"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir)}
    r = run_worker(tmp_path, kind="shell", body="```sh\necho hi > hi\n```\n",
                   worker_env=env, sandbox_kind="bwrap")
    assert r["outcome"] == "failed"
    assert "refusing to run the agent unsandboxed" in r["error"]
    assert r["commits"] == []
