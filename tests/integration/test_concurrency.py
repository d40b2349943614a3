"""Assign: independent tasks run side by side; tasks whose paths overlap never do."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.agents import agent_argv
from support.project import Project
from support.repos import git, make_repo

BODY = """\
- [ ] (parallel) alpha writes in shared/
  paths: shared/, out/alpha.txt
- [ ] (parallel) beta writes shared/beta.txt
  paths: shared/beta.txt, out/beta.txt
- [ ] (parallel) gamma writes its own file
  paths: gamma/, out/gamma.txt
- [ ] (parallel) delta writes its own file
  paths: delta/, out/delta.txt
"""


def test_overlapping_paths_never_run_together_independent_tasks_do(project: Project,
                                                                   tmp_path) -> None:
    log = tmp_path / "agent.log"
    project.configure(agents={"default": "sleeper", "profiles": {"sleeper": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "1.5", "AGENT_LOG": str(log),
                "AGENT_WRITE": "out/{task}.txt:{task}"}}}})
    n = project.file_issue("Four tasks", BODY)
    project.run()
    assert {t.state for t in project.tasks(n).values()} == {"done"}

    spans = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        spans[rec["task"].split()[0]] = (rec["start"], rec["end"])
    assert set(spans) == {"alpha", "beta", "gamma", "delta"}

    def overlap(a: str, b: str) -> bool:
        return spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]

    assert not overlap("alpha", "beta")  # shared/ contains shared/beta.txt
    assert overlap("gamma", "delta")
    assert overlap("alpha", "gamma") or overlap("beta", "gamma")


def test_concurrency_ceiling_is_respected(project: Project, tmp_path) -> None:
    log = tmp_path / "agent.log"
    project.configure(workers={"max_concurrent": 2}, agents={"default": "sleeper", "profiles": {
        "sleeper": {"kind": "command", "argv": agent_argv("scripted.py"),
                    "env": {"AGENT_SLEEP": "1", "AGENT_LOG": str(log),
                            "AGENT_WRITE": "out/{task}.txt:{task}"}}}})
    body = "".join(f"- [ ] (parallel) task{i} file\n" for i in range(5))
    n = project.file_issue("Five tasks", body)
    project.run()
    assert {t.state for t in project.tasks(n).values()} == {"done"}
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    peak = running = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2


PREPARE = """
import sys
from shiftctl.system import git
repo, wt, branch = sys.argv[1:]
git.worktree(repo, "prune", check=False)
git.add_worktree(repo, wt, "HEAD", "-f", "-B", branch)
"""  # what a worker does first (worker.main.prepare_worktree)


def test_sixteen_workers_preparing_worktrees_at_once_all_succeed(tmp_path: Path) -> None:
    """git does not serialise worktree changes: unlocked, a ``prune`` removes another
    worker's half-made entry and an ``add`` reads one half-written (seen with 16 workers)."""
    repo = make_repo(tmp_path / "repo")
    env = dict(os.environ)
    for wave in range(3):
        procs = [subprocess.Popen([sys.executable, "-c", PREPARE, str(repo),
                                   str(repo / ".shiftctl" / "worktrees" / f"{wave}-{i}"),
                                   f"shiftctl/{wave}-{i}"], env=env, stderr=subprocess.PIPE,
                                  text=True) for i in range(16)]
        errors = [p.communicate()[1] for p in procs if p.wait() != 0]
        assert errors == []
    listed = git(repo, "worktree", "list", "--porcelain").count("worktree ")
    assert listed == 1 + 3 * 16
    assert (repo / ".shiftctl" / "worktrees" / "2-15" / "README.md").exists()  # checked out
