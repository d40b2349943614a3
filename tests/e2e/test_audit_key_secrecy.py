"""A hostile agent against the audit anchor, for real: it looks for the audit key and rewrites
the event log in state.db while the loop runs it.

- ``sandbox: bwrap``: the key's directory is an empty mount and state.db is read-only; it
  reads nothing and forges nothing.
- ``sandbox: none``: it runs as you. It can rewrite state.db, and ``audit verify`` (and the
  loop's own seal) catch that; it can also read the key, which no file mode can prevent for
  the same user, so ``doctor`` warns about exactly the profiles that run unsandboxed.
"""
from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.paths import Paths
from shiftctl.system import sandbox

from support.agents import AGENTS
from support.assets import require
from support.project import Project, end_workers
from support.repos import git, make_repo, outside_tmp


def hostile(project: Project, *, box: str, script: Path, **env: str) -> int:
    """Run one task with the forger as its agent; returns the issue number."""
    python = str(Path(sys.executable).resolve())
    project.configure(agents={"default": "hostile", "profiles": {"hostile": {
        "kind": "command", "sandbox": box, "argv": [python, str(script), "{prompt_file}",
                                                     "{worktree}"], "env": env}}})
    n = project.file_issue("Innocent task", "- [ ] tidy up\n")
    project.run()
    return n


def report(project: Project, n: int) -> dict[str, Any]:
    return json.loads(git(project.root, "show", f"shiftctl/issue-{n}:forger.json"))


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, Path]]:
    """A project, its audit key directory and the agent script all outside /tmp, so that
    bwrap's private /tmp hides none of them by accident: only the mask can."""
    base = outside_tmp("audit-secrecy")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    script = Path(shutil.copy(AGENTS / "forger.py", base))
    project = Project(make_repo(base / "repo"))
    project.configure()
    try:
        yield project, script
    finally:
        end_workers(project)
        shutil.rmtree(base, ignore_errors=True)


def test_a_sandboxed_agent_sees_no_key_and_cannot_touch_the_log(
        outside: tuple[Project, Path]) -> None:
    require("bwrap", sandbox.probe() is None, f"bwrap cannot run here: {sandbox.probe()}")
    project, script = outside
    paths = Paths(project.root)
    project.cycle()  # the key exists before the agent starts
    assert paths.audit_key.exists()
    n = hostile(project, box="bwrap", script=script, FORGE_PEEK=str(paths.audit_dir),
                FORGE_DB=str(paths.state_db), FORGE_EDIT="2", FORGE_DROP="2")
    seen = report(project, n)
    assert seen["peek"] == {"(listing)": "0 entries"}, seen  # an empty mount
    assert seen["forged"].startswith("failed:"), seen  # state.db is read-only in there
    verify = project.cli("audit", "verify")
    assert verify.stdout.startswith("ok: intact")


def test_an_unsandboxed_agent_that_rewrites_state_db_is_caught(
        outside: tuple[Project, Path]) -> None:
    project, script = outside
    paths = Paths(project.root)
    project.file_issue("Warm-up", "- [ ] a\n  ```sh\n  echo a > a.txt\n  ```\n")
    project.configure(agents={"default": "shell"})
    project.run()  # a log with a few dozen signed events
    n = hostile(project, box="none", script=script, FORGE_DB=str(paths.state_db),
                FORGE_EDIT="3", FORGE_DROP="2")
    assert report(project, n)["forged"] == "written"  # the attack itself worked
    out = project.cli("audit", "verify", "--json", check=False)
    data = json.loads(out.stdout)
    assert out.returncode == 1 and data["status"] == "rewritten", data
    assert data["problems"][0]["event"] == 3
    assert any(h["kind"] in ("truncated", "rewritten") for h in data["history"])  # the loop saw it


def test_an_unsandboxed_agent_can_read_the_key_and_doctor_says_so(
        outside: tuple[Project, Path]) -> None:
    project, script = outside
    paths = Paths(project.root)
    project.cycle()
    n = hostile(project, box="none", script=script, FORGE_PEEK=str(paths.audit_dir))
    seen = report(project, n)["peek"]
    assert seen[paths.audit_key.name].startswith("read ")  # same user: modes cannot stop it
    doctor = project.cli("doctor", check=False)
    line = next(x for x in doctor.stdout.splitlines() if "audit key" in x)
    assert line.startswith("warn") and "profiles hostile run agents unsandboxed" in line
    project.configure(sandbox="bwrap", agents={"default": "shell"})
    doctor = project.cli("doctor", check=False)
    assert "run agents unsandboxed" not in doctor.stdout
