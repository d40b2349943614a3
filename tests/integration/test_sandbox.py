"""The sandbox: ``auto`` (the default) is bwrap where it works, with a private HOME, and
secrets out of reach; ``none`` only when set; ``bwrap`` never runs bare. A hostile agent
(``tests/agents/malicious.py``) attacks for real, unsandboxed first to show the attacks work."""
from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.cli.doctor import check
from shiftctl.admin.cli.status import collect_status, render
from shiftctl.admin.paths import Paths
from shiftctl.system import sandbox

from support.agents import AGENTS, agent_argv
from support.project import Project
from support.repos import git, outside_tmp
from support.sandbox import Guarded, require_bwrap

needs_bwrap = pytest.mark.skipif(
    sandbox.probe() is not None and os.environ.get("SHIFTCTL_REQUIRE_BWRAP") != "1",
    reason=f"bwrap cannot run here: {sandbox.probe()}")


def hostile(project: Project, sandbox_kind: str, **knobs: str) -> dict[str, Any]:
    """One task done by the hostile agent under ``sandbox_kind``, the loop in its own admin
    process whose environment holds a secret (as the tracker token would); the report the
    agent committed."""
    marker = f"ADMIN-SECRET-{uuid.uuid4().hex}"
    project.configure(sandbox=sandbox_kind, agents={"default": "evil", "profiles": {"evil": {
        "kind": "command", "argv": agent_argv("malicious.py"),
        "env": {"STEAL_MARKER": marker[::-1], **knobs}}}})
    other = project.root / ".shiftctl" / "runs" / "7-t1-a1-000000"
    other.mkdir(parents=True)  # another run's directory (its prompt, its agent's log)
    n = project.file_issue("Probe", "- [ ] probe\n")
    project.cli("run", "--until-idle", env={**os.environ, "SHIFTCTL_TEST_ADMIN_SECRET": marker})
    assert project.tasks(n)["t1"].state == "done"
    [run] = project.runs(n)
    report: dict[str, Any] = json.loads(git(project.root, "show",
                                            f"shiftctl/issue-{n}:attacks.json"))
    report["_run_dir"] = Path(run.run_dir)
    report["_spec"] = json.loads((Path(run.run_dir) / "spec.json").read_text())
    return report


def test_unsandboxed_the_hostile_agent_reads_the_key_the_admin_environ_and_the_state(
        guarded: Guarded) -> None:
    """What ``sandbox: none`` means: the attacks below are real."""
    project, home, key = guarded.project, guarded.home, guarded.key
    db = project.root / ".shiftctl" / "state.db"
    report = hostile(project, "none", STEAL_FILES=f"{key}{os.pathsep}{db}",
                     PLANT_DIR=str(home))
    assert report["_spec"]["agent"]["sandbox"] == "none"
    assert report[f"read {key}"] == key.read_text()
    assert report[f"read {db}"].startswith("SQLite format 3")
    assert report["environ"]  # the admin's environment, with its secret
    assert "7-t1-a1-000000" in report["other runs"] and "state.db" in report["runtime listing"]
    assert report["plant"] == "wrote" and (home / "planted-by-agent").exists()


@pytest.mark.parametrize("kind", ["auto", "bwrap"])
def test_in_bwrap_the_hostile_agent_reaches_no_secret_and_cannot_break_out(
        guarded: Guarded, kind: str) -> None:
    require_bwrap()
    project, home = guarded.project, guarded.home
    runtime = project.root / ".shiftctl"
    stolen = [guarded.key, runtime / "state.db", Paths(project.root).tracker_db,
              Path("/etc/shadow"), Path("/root/.bashrc")]
    report = hostile(project, kind, STEAL_FILES=os.pathsep.join(map(str, stolen)),
                     PLANT_DIR=str(home), TRY_ESCAPE="1")
    assert report["_spec"]["agent"]["sandbox"] == "bwrap"  # auto resolved by the admin
    for path in stolen:
        assert "Error" in report[f"read {path}"] or report[f"read {path}"] == "", (path, report)
    assert report["environ"] == []  # a fresh /proc: no other process's environ in reach
    assert max(report["pids"]) < 100
    assert report["other worktrees"] == ["1-t1"]  # its own only
    assert report["other runs"] == [report["_run_dir"].name]
    assert "state.db" not in report["runtime listing"]
    assert not (home / "planted-by-agent").exists()  # (it wrote to the empty stand-in)
    private = report["_run_dir"] / "home"
    assert report["home"] == str(private) and report["own home"] == "wrote"
    assert not private.exists()  # a succeeded run's private HOME is removed
    assert report["remount"].startswith("exit ") and not report["remount"].startswith("exit 0")
    assert not report["unmount home mask"].startswith("exit 0")
    assert "Error" in report["write /etc"] and not Path("/etc/shiftctl-escaped").exists()
    assert report["capabilities"] == "0000000000000000"
    if os.geteuid() == 0:
        assert report["uid"] == int(sandbox.UNPRIVILEGED_ID)  # not root inside


def test_checks_get_a_fresh_home_not_the_one_the_agent_left(project: Project) -> None:
    """What an agent leaves in its HOME (a .pth file, a config) could steer the checks that
    judge it; they run in a HOME of their own."""
    require_bwrap()
    project.configure(sandbox="auto", agents={"default": "planter", "profiles": {"planter": {
        "kind": "shell"}}}, checks=[{"name": "clean-home", "timeout": 60,
                                     "run": 'test ! -e "$HOME/planted" && echo "home=$HOME"'}])
    n = project.file_issue("Plant", "- [ ] plant\n  ```sh\n  touch \"$HOME/planted\"\n"
                                    "  echo x > x.txt\n  ```\n")
    project.run()
    [run] = [r for r in project.runs(n) if r.kind == "work"]
    assert run.outcome == "succeeded", run.error
    [result] = json.loads((Path(run.run_dir) / "result.json").read_text())["checks"]
    assert result["passed"] and f"home={run.run_dir}/check-home" in result["output"]
    # the same checks on the integrated branch (a verify run) get a fresh HOME of their own
    [verify] = [r for r in project.runs(n) if r.kind == "verify"]
    assert verify.outcome == "succeeded", verify.error
    [again] = json.loads((Path(verify.run_dir) / "result.json").read_text())["checks"]
    assert again["passed"] and f"home={verify.run_dir}/check-home" in again["output"]


def test_a_failed_runs_private_home_is_kept_for_debugging(project: Project) -> None:
    require_bwrap()
    project.configure(sandbox="auto", workers={"max_attempts": 1},
                      agents={"default": "sh", "profiles": {"sh": {"kind": "shell"}}})
    n = project.file_issue("Fail", "- [ ] fail\n  ```sh\n  echo note > \"$HOME/notes\"\n"
                                   "  exit 3\n  ```\n")
    project.run()
    [run] = project.runs(n)
    assert run.outcome == "failed"
    assert (Path(run.run_dir) / "home" / "notes").read_text() == "note\n"


def test_auto_without_bwrap_runs_unsandboxed_and_says_so_everywhere(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where bwrap cannot run, ``auto`` means none, with the reason: an event when that
    changes, a warning in status and doctor; when bwrap works again, back to bwrap."""
    why = "bubblewrap (bwrap) is not installed (simulated)"
    monkeypatch.setattr(sandbox, "probe", lambda: why)
    project.configure(sandbox="auto")
    n = project.file_issue("Bare", "- [ ] go\n  ```sh\n  echo go > go\n  ```\n")
    project.run()
    assert project.tasks(n)["t1"].state == "done"
    [run] = project.runs(n)
    spec = json.loads((Path(run.run_dir) / "spec.json").read_text())
    assert spec["agent"]["sandbox"] == "none"  # resolved by the admin: the worker never guesses
    status = collect_status(project.config)
    assert status["sandbox"]["shell"] == {"sandbox": "none", "configured": "auto",
                                          "reason": f"auto: agents run unsandboxed because {why}"}
    assert f"WARNING: agents of profile shell run unsandboxed (auto: agents run unsandboxed " \
           f"because {why})" in render(status)
    found = {f.name: f for f in check(project.config)}
    assert not found["sandbox shell"].ok and not found["sandbox shell"].required  # a warning
    assert found["sandbox shell"].detail.startswith("none (auto: ")
    events = [e for e in project.store().iter_events() if e["kind"] == "sandbox.in_force"]
    assert len(events) == 1 and events[0]["data"]["profiles"]["shell"]["sandbox"] == "none"

    monkeypatch.setattr(sandbox, "probe", lambda: None)  # bubblewrap installed
    project.cycle()  # an idle cycle starts no run: it does not even look (no process)
    assert len([e for e in project.store().iter_events() if e["kind"] == "sandbox.in_force"]) == 1
    project.file_issue("Boxed", "- [ ] go\n  ```sh\n  echo go > went\n  ```\n")
    project.run()  # a run starts: the sandbox is resolved again first, and recorded
    events = [e for e in project.store().iter_events() if e["kind"] == "sandbox.in_force"]
    assert len(events) == 2  # one more, for the change only
    assert events[1]["data"]["profiles"]["shell"]["sandbox"] == "bwrap"
    assert events[1]["data"]["previous"]["shell"]["sandbox"] == "none"
    assert "Sandbox: bwrap for " in render(collect_status(project.config))


def test_none_only_when_set_explicitly_and_doctor_says_which_is_in_force(
        project: Project) -> None:
    require_bwrap()
    project.configure(sandbox="auto", agents={"default": "shell", "profiles": {
        "bare": {"kind": "shell", "sandbox": "none"}}})
    out = project.cli("doctor", check=False).stdout
    assert "sandbox shell" in out and "bwrap (auto: bubblewrap works here)" in out
    assert "none (set explicitly: agents run unsandboxed)" in out
    line = next(x for x in out.splitlines() if "sandbox bare" in x)
    assert line.startswith("warn")


def test_the_worker_refuses_an_unresolved_auto(tmp_path: Path) -> None:
    from support.worker import run_worker
    r = run_worker(tmp_path, kind="shell", body="```sh\necho hi > hi\n```\n",
                   sandbox_kind="auto")
    assert r["outcome"] == "failed" and "unresolved" in r["error"] and r["commits"] == []



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


def test_doctor_finds_a_cli_that_cannot_start_boxed_and_sandbox_expose_fixes_it(
        guarded: Guarded) -> None:
    """A CLI whose launcher in ``~/bin`` runs the real program from elsewhere in the hidden
    HOME does not start in bwrap: doctor says so and names the fix; with the directory in
    ``sandbox_expose`` it starts."""
    require_bwrap()
    real = guarded.home / ".local" / "share" / "fakecli" / "fakecli"
    launcher = guarded.home / "bin" / "fakecli"
    for path, text in ((real, "#!/bin/sh\necho fakecli 1.0\n"),
                       (launcher, f'#!/bin/sh\nexec "{real}" "$@"\n')):
        path.parent.mkdir(parents=True)
        path.write_text(text)
        path.chmod(0o755)
    profile = {"kind": "claude", "argv": [str(launcher)]}
    project = guarded.project
    project.configure(sandbox="auto", agents={"default": "c", "profiles": {"c": profile}})
    found = {f.name: f for f in check(project.config)}
    assert not found["sandbox c"].ok and found["sandbox c"].required
    assert "--version fails inside bwrap" in found["sandbox c"].detail
    assert "sandbox_expose" in found["sandbox c"].detail
    project.configure(sandbox="auto", sandbox_expose=[str(real.parent)],
                      agents={"default": "c", "profiles": {"c": profile}})
    found = {f.name: f for f in check(project.config)}
    assert found["sandbox c"].ok, found["sandbox c"].detail


def test_claude_may_skip_permissions_boxed_even_when_started_as_root(project: Project) -> None:
    """Claude Code refuses bypassPermissions as root; inside bwrap a root-started agent is
    uid 65534, so doctor only objects when the profile runs unsandboxed."""
    if os.geteuid() != 0:
        pytest.skip("only root is refused bypassPermissions")
    require_bwrap()
    profile = {"kind": "claude", "argv": [sys.executable],
               "permission_mode": "bypassPermissions"}
    for kind, refused in (("none", True), ("auto", False)):
        project.configure(sandbox=kind, agents={"default": "c", "profiles": {"c": profile}})
        found = {f.name: f for f in check(project.config)}
        assert ("refuses permission_mode bypassPermissions" in found["agent c"].detail) \
            is refused, (kind, found["agent c"].detail)


def test_doctor_says_when_boxed_codex_would_keep_its_home_under_tmp(project: Project) -> None:
    """Boxed, Codex's CODEX_HOME is in the run directory: in a repository under /tmp (this
    test's) Codex could not set up its own sandbox there."""
    require_bwrap()
    codex = {"kind": "codex", "argv": [sys.executable]}
    project.configure(sandbox="auto", agents={"default": "cx", "profiles": {"cx": codex}})
    found = {f.name: f for f in check(project.config)}
    assert "Codex keeps its CODEX_HOME in the run directories" in found["agent cx"].detail
    assert "under /tmp, where Codex cannot set up its sandbox" in found["agent cx"].detail
    home = outside_tmp("codex-home")
    try:
        project.configure(sandbox="auto", agents={"default": "cx", "profiles": {"cx": {
            **codex, "env": {"CODEX_HOME": str(home)}}}})
        assert {f.name: f for f in check(project.config)}["agent cx"].ok
    finally:
        home.rmdir()
