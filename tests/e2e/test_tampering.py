"""An agent that attacks the repository's git setup from its worktree: nothing it plants runs
in shiftctl's processes, the attempt ends ``tampered`` and goes to a person with what
changed, and what can be undone is (with copies and quarantine refs kept). Real git, real
worker processes, a scripted malicious agent (``tests/agents/git_attacker.py``)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from shiftctl.system import sandbox

from support.agents import AGENTS, agent_argv
from support.assets import require
from support.attacks import ran
from support.project import Project
from support.repos import git, outside_tmp, wait_for

SECRET = "ghp_AdminOnlyTokenValue0123456789abcdef"



def links_removed(project: Project) -> int:
    """How many planted links maintenance removed (as links, never followed)."""
    s = project.store()
    try:
        return int(s.conn.execute("SELECT COUNT(*) FROM events WHERE kind = "
                                  "'worktree.link_removed'").fetchone()[0])
    finally:
        s.close()

def malicious(project: Project, evil: Path, do: str, link: str = "") -> None:
    """Every task's agent is the malicious one, doing ``do`` (see its docstring)."""
    env = {"EVIL_DIR": str(evil), "EVIL_DO": do, **({"EVIL_LINK": link} if link else {})}
    project.configure(agents={"default": "evil", "profiles": {"evil": {
        "kind": "command", "argv": agent_argv("git_attacker.py"), "env": env}}})


def comments(project: Project, n: int, kind: str) -> list[str]:
    return [c["body"] for c in project.issue(n)["comments"] if f"shiftctl:{kind}:" in c["body"]]


def link_handled(project: Project, runs: list) -> bool:
    """A planted link was dealt with as a link: refused by the worker that met it, or removed
    by maintenance (whichever came first), never an rmtree error."""
    errors = [r.error or "" for r in runs]
    assert not any("rmtree" in e for e in errors), errors
    return any("was a symbolic link" in e for e in errors) or links_removed(project) == 1


def test_an_unsandboxed_agent_planting_hooks_fsmonitor_and_filters_runs_nothing_and_is_stopped(
        project: Project, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)  # in the admin's environment, as in production
    evil = tmp_path / "evil"
    malicious(project, evil, "hooks,fsmonitor,filter")
    main = git(project.root, "rev-parse", "main")
    n = project.file_issue("Harmless", "- [ ] add a file\n")
    project.run()

    assert ran(evil / "marks") == []  # nothing planted ran: not in the admin, not in the worker
    task = project.tasks(n)["t1"]
    assert task.state == "needs_human" and task.reason.startswith("tampering:")
    assert task.attempts == 0  # not counted as the agent's honest failure
    (run,) = project.runs(n)
    assert run.outcome == "tampered" and not run.commits
    # nothing of it was merged: no PR, the integration branch is still the base
    assert project.prs() == []
    assert git(project.root, "rev-parse", f"shiftctl/issue-{n}") == main
    # a person is told, once, with what changed
    (body,) = comments(project, n, "tampered")
    for needle in ("hook `post-merge`", "hook `reference-transaction`", "`.git/config`",
                   "core.fsmonitor", "filter.evil.clean", "`.git/info/attributes`",
                   f"/retry {task.key}"):
        assert needle in body, needle
    # undone: the user's repository holds none of it afterwards, and copies are kept
    hooks = project.root / ".git" / "hooks"
    assert not [h for h in hooks.iterdir() if not h.name.endswith(".sample")]
    config = (project.root / ".git" / "config").read_text()
    assert "fsmonitor" not in config and "evil" not in config
    assert not (project.root / ".git" / "info" / "attributes").exists()
    kept = Path(run.run_dir) / "tampered"
    assert "payload" in (kept / "hooks" / "post-merge").read_text()
    assert "fsmonitor" in (kept / "config").read_text()
    s = project.store()
    try:
        events = [json.loads(d) for (d,) in s.conn.execute(
            "SELECT data FROM events WHERE kind = 'run.tampered'")]
    finally:
        s.close()
    assert len(events) == 1 and len(events[0]["changes"]) >= 12
    # and the loop settles: nothing more happens without a person
    assert project.cycle().rung == "sleep"
    # a person's /retry runs a fresh attempt (from the integration head, nothing kept)
    malicious(project, evil, "")
    project.cli("retry", f"{n}-{task.key}")
    project.run()
    assert project.tasks(n)["t1"].state == "done"
    assert "evil-report.json" in git(project.root, "ls-tree", "--name-only",
                                     f"shiftctl/issue-{n}")


def test_a_tampering_planner_sends_the_issue_to_a_person_and_its_answer_is_unused(
        project: Project, tmp_path: Path) -> None:
    evil = tmp_path / "evil"
    project.configure(agents={"default": "shell", "profiles": {
        "shell": {"kind": "shell"},
        "planner": {"kind": "command", "argv": agent_argv("git_attacker.py"),
                    "env": {"EVIL_DIR": str(evil), "EVIL_DO": "hooks,fsmonitor"}}}},
        planner={"kind": "agent", "profile": "planner"})
    n = project.file_issue("Plan me", "- [ ] one\n")
    project.run()
    assert ran(evil / "marks") == []
    (run,) = project.runs(n)
    assert (run.kind, run.outcome) == ("plan", "tampered")
    assert project.issue_state(n) == "needs_human" and project.tasks(n) == {}
    (body,) = comments(project, n, "plan_failed")
    assert "hook `post-merge` added" in body and "core.fsmonitor" in body
    assert not (project.root / ".git" / "hooks" / "post-merge").exists()
    assert project.cycle().rung == "sleep"


def test_an_agent_moving_refs_is_stopped_and_the_refs_are_restored(
        project: Project, tmp_path: Path) -> None:
    evil = tmp_path / "evil"
    malicious(project, evil, "tag,move-main")
    main = git(project.root, "rev-parse", "main")
    n = project.file_issue("Harmless", "- [ ] add a file\n")
    project.run()

    (run,) = project.runs(n)
    assert run.outcome == "tampered"
    assert git(project.root, "rev-parse", "main") == main
    assert git(project.root, "tag", "--list") == ""
    quarantine = f"refs/shiftctl/quarantine/{run.id}"
    kept = git(project.root, "for-each-ref", "--format=%(refname)", quarantine)
    assert set(kept.split()) == {f"{quarantine}/refs/heads/main", f"{quarantine}/refs/tags/evil"}
    unreviewed = git(project.root, "rev-parse", f"{quarantine}/refs/heads/main")
    assert git(project.root, "log", "-1", "--format=%s", unreviewed) == "unreviewed"
    (body,) = comments(project, n, "tampered")
    assert "ref `refs/heads/main` changed" in body and f"{quarantine}/refs/heads/main" in body
    assert "ref `refs/tags/evil` added" in body


def test_a_sandboxed_agent_cannot_replace_its_worktrees_git_file(project: Project) -> None:
    require("bwrap", sandbox.probe() is None, f"bwrap cannot run here: {sandbox.probe()}")
    # the sandbox's private /tmp hides whatever lies under /tmp: the payload lives outside
    home = outside_tmp("evil-gitfile")
    try:
        script = Path(shutil.copy(AGENTS / "git_attacker.py", home))
        python = str(Path(sys.executable).resolve())
        evil = home / "evil"
        project.configure(agents={"default": "boxed", "profiles": {"boxed": {
            "kind": "command", "sandbox": "bwrap",
            "argv": [python, str(script), "{prompt_file}", "{worktree}"],
            "env": {"EVIL_DIR": str(evil),
                    "EVIL_DO": "gitfile,hooks,fsmonitor,tag,move-main"}}}})
        main = git(project.root, "rev-parse", "main")
        n = project.file_issue("Harmless", "- [ ] add a file\n")
        project.run()
        marks = ran(evil / "marks")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert marks == []
    report = json.loads(git(project.root, "show", f"shiftctl/issue-{n}:evil-report.json"))
    assert report["gitfile"].startswith(("OSError", "PermissionError")), report  # read-only
    assert report["hooks"] != "done" and report["fsmonitor"] != "done", report
    # no fingerprint is taken around a boxed agent: the sandbox alone keeps refs as they were
    assert report["tag"] != "done" and report["move-main"] != "done", report
    assert git(project.root, "rev-parse", "main") == main
    assert git(project.root, "tag", "--list") == ""
    assert project.tasks(n)["t1"].state == "done"  # its honest work went through review


def test_a_link_planted_at_a_sibling_worktree_path_never_reaches_the_clone_it_points_at(
        project: Project, tmp_path: Path) -> None:
    """Task 1's agent plants ``.shiftctl/worktrees/1-t2 -> a clone of the repository``: the
    worker of task 2 refuses it (removing the link, never its target), the next attempt
    works in a worktree of its own, and the clone keeps its files and its HEAD."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project.root), str(clone))
    (clone / "precious.txt").write_text("untracked work of a person\n")
    head = git(clone, "rev-parse", "HEAD")
    malicious(project, tmp_path / "evil", "", link=f"1-t2:{clone}")
    n = project.file_issue("Two steps", "- [ ] first\n- [ ] second\n")
    project.run()

    assert (clone / "precious.txt").exists() and git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == "?? precious.txt"
    assert project.tasks(n)["t2"].state == "done"
    assert link_handled(project, project.runs(n))


def test_a_stale_link_in_worktrees_is_removed_once_and_the_loop_settles(
        project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not shiftctl's\n")
    project.cycle()  # creates .shiftctl/
    worktrees = project.root / ".shiftctl" / "worktrees"
    (worktrees / "9-old").symlink_to(elsewhere)
    (worktrees / "issue-9").symlink_to(tmp_path / "nowhere")  # dangling
    result = project.run(max_seconds=30)
    assert result.rung == "sleep"
    assert not os.path.lexists(worktrees / "9-old") and not os.path.lexists(worktrees / "issue-9")
    assert (elsewhere / "keep.txt").read_text() == "not shiftctl's\n"
    assert links_removed(project) == 2
    assert project.cli("run", "--until-idle", "--max-cycles", "20").returncode == 0


def test_a_link_to_a_plain_directory_never_has_it_emptied(project: Project,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "plain"
    target.mkdir()
    (target / "data.txt").write_text("keep\n")
    n = project.file_issue("Work", "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n")
    project.cycle()
    (project.root / ".shiftctl" / "worktrees" / f"{n}-t1").symlink_to(target)
    project.run()
    assert link_handled(project, project.runs(n))
    assert sorted(p.name for p in target.iterdir()) == ["data.txt"]
    assert project.tasks(n)["t1"].state == "done"


def test_a_persons_commit_tag_and_setting_during_a_boxed_run_are_left_alone(
        project: Project) -> None:
    """A boxed agent cannot write `.git`, so what changes there while it works is a person's
    own doing: their commit stays on main, their tag and setting stay, the run is not
    `tampered` and nothing is quarantined."""
    require("bwrap", sandbox.probe() is None, f"bwrap cannot run here: {sandbox.probe()}")
    place = outside_tmp("boxed-gate")  # the sandbox's private /tmp would hide a gate there
    try:
        script = Path(shutil.copy(AGENTS / "scripted.py", place))
        gate = place / "gate"
        project.configure(agents={"default": "boxed", "profiles": {"boxed": {
            "kind": "command", "sandbox": "bwrap",
            "argv": [str(Path(sys.executable).resolve()), str(script), "{prompt_file}",
                     "{worktree}"],
            "env": {"AGENT_WAIT_FOR": str(gate), "AGENT_TICK": "0.2",
                    "AGENT_WRITE": "x.txt:x"}}}})
        n = project.file_issue("Boxed", "- [ ] add a file\n")
        project.cycle_until(lambda: project.runs(n), what="the run to start")
        log = Path(project.runs(n)[0].run_dir) / "agent.log"
        wait_for(lambda: log.exists() and log.stat().st_size > 0, what="the agent to work")
        git(project.root, "commit", "-q", "--allow-empty", "-m", "a person's own commit")
        mine = git(project.root, "rev-parse", "main")
        git(project.root, "tag", "v-person")
        git(project.root, "config", "person.note", "mine")
        gate.touch()
        project.run()
    finally:
        shutil.rmtree(place, ignore_errors=True)
    (run,) = project.runs(n)
    assert run.outcome == "succeeded" and project.tasks(n)["t1"].state == "done", run.error
    assert git(project.root, "rev-parse", "main") == mine
    assert git(project.root, "tag", "--list") == "v-person"
    assert git(project.root, "config", "person.note") == "mine"
    assert git(project.root, "for-each-ref", "refs/shiftctl/quarantine") == ""
    assert comments(project, n, "tampered") == []
