"""What an idle cycle spends: no git process while the repository is as it was, no sandbox
probe unless a run may start, and the same answers through the fast path as through click."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shiftctl.admin.cycle import snapshot
from shiftctl.admin.paths import Paths
from shiftctl.system import git, sandbox

from support.project import Project
from support.repos import git as run_git


def count_git(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    real = git.run

    def counting(where, *args, **kw):  # type: ignore[no-untyped-def]
        calls.append(args)
        return real(where, *args, **kw)
    monkeypatch.setattr(git, "run", counting)
    return calls


def test_an_idle_cycle_asks_git_only_after_the_repository_changed(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.cycle()  # the first cycle asks git and keeps its yes
    calls = count_git(monkeypatch)
    assert project.cycle().rung == "sleep"
    assert calls == []
    run_git(project.root, "commit", "-q", "--allow-empty", "-m", "a person's commit")
    assert project.cycle().rung == "sleep"
    assert calls  # main moved: asked again


def test_a_deleted_base_branch_is_found_although_the_last_answer_was_yes(
        project: Project) -> None:
    project.cycle()
    run_git(project.root, "checkout", "-q", "-b", "other")
    run_git(project.root, "branch", "-q", "-D", "main")
    result = project.cycle()
    assert result.rung == "health"
    assert any("base branch 'main' does not exist" in a for a in result.actions)


def test_a_git_dir_that_stopped_being_one_is_found(project: Project) -> None:
    project.cycle()
    shutil.rmtree(project.root / ".git" / "objects")
    assert snapshot.health_problems(project.config, Paths(project.root)) != []


def test_an_idle_cycle_does_not_probe_the_sandbox_but_a_run_start_does(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.configure(sandbox="auto")
    project.cycle()  # the first cycle records what is in force
    probes: list[int] = []
    real = sandbox.probe.__wrapped__

    def counted() -> str | None:
        probes.append(1)
        return real()
    monkeypatch.setattr(sandbox, "probe", counted)
    assert project.cycle().rung == "sleep"
    assert probes == []
    project.file_issue("one", "- [ ] do it\n  ```sh\n  echo hi > hi.txt\n  ```\n")
    for _ in range(3):
        project.cycle()
    assert probes  # a spawn resolves auto again, and the record follows


def test_the_fast_path_answers_as_click_does(project: Project) -> None:
    project.cycle()
    fast = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root), "cycle",
                           "--json", "--woke", "time"], capture_output=True, text=True)
    slow = project.cli("cycle", "--json", "--woke", "time")
    assert fast.returncode == 0 and json.loads(fast.stdout).keys() == json.loads(
        slow.stdout).keys()
    assert json.loads(fast.stdout)["rung"] == json.loads(slow.stdout)["rung"] == "sleep"


def test_the_fast_path_reports_a_broken_config_and_state_as_click_does(
        project: Project, tmp_path: Path) -> None:
    project.cycle()
    (project.root / "shiftctl.yaml").write_text("workers: 5\n")
    bad = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root), "cycle"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: ") and "workers" in bad.stderr
    assert "Traceback" not in bad.stderr
    project.configure()
    (project.root / ".shiftctl" / "state.db").write_bytes(b"garbage" * 1000)
    broken = subprocess.run([sys.executable, "-m", "shiftctl", "-C", str(project.root),
                             "cycle"], capture_output=True, text=True)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "state restore" in broken.stderr or "state.db" in broken.stderr


# What only some cycles need: an idle one must not pay for importing it.
NOT_WHEN_IDLE = ("yaml", "click", "jsonschema", "difflib", "subprocess",
                 "shiftctl.system.sandbox", "shiftctl.system.git", "shiftctl.worker.spec",
                 "shiftctl.worker.result", "shiftctl.memory.distil", "shiftctl.admin.profiles",
                 "shiftctl.admin.backups", "shiftctl.admin.launchers",
                 "shiftctl.admin.cycle.executor", "shiftctl.admin.cycle.context")


def test_an_idle_cycle_imports_only_what_every_cycle_needs(project: Project) -> None:
    project.cycle()  # makes .shiftctl/
    project.cli("cycle", process=True)  # reads the YAML and remembers it there
    code = ("import atexit, json, sys\n"
            f"WATCH = {NOT_WHEN_IDLE!r}\n"
            "atexit.register(lambda: print(json.dumps([m for m in WATCH if m in sys.modules]),"
            " file=sys.stderr))\n"
            "from shiftctl.admin.cli.entry import main\n"
            f"sys.argv = ['shiftctl', '-C', {str(project.root)!r}, 'cycle', '--json']\n"
            "sys.exit(main())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rung"] == "sleep"
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []


def test_the_remembered_config_follows_the_file_and_ignores_a_stale_memo(
        project: Project) -> None:
    memo = project.root / ".shiftctl" / "config.parsed.json"
    project.cycle()  # makes .shiftctl/
    project.cli("cycle", process=True)
    assert json.loads(memo.read_text())["data"]["agents"]["default"] == "shell"
    project.configure(sleep={"idle": 77})
    assert project.config.sleep.idle == 77  # a changed file is read again, not the memo
    assert json.loads(memo.read_text())["data"]["sleep"]["idle"] == 77
    # a memo that does not belong to the file's content is ignored, a damaged one too
    forged = json.loads(memo.read_text())
    forged["data"]["sleep"]["idle"] = 5
    forged["sha256"] = "0" * 64
    memo.write_text(json.dumps(forged))
    assert project.config.sleep.idle == 77
    memo.write_text("{not json")
    assert project.config.sleep.idle == 77
    assert json.loads(memo.read_text())["data"]["sleep"]["idle"] == 77  # written anew
