"""Deterministic review, attacked through the loop: each task's agent commits something review
must refuse (a file outside the task's paths, a symlink out of the worktree, 2,000 files, a
30 MB blob, each path forbidden by default). None of it reaches the integration branch; the
honest tasks beside them are merged."""
from __future__ import annotations

from typing import Any

from support.agents import agent_argv
from support.project import Project
from support.repos import git

# profile -> (what its agent does, the task's extra body lines, the finding review must give)
CASES: dict[str, tuple[dict[str, str], str, str | None]] = {
    "outside_paths": ({"EVIL_WRITE": "docs/guide.md:ok,src/evil.py:import os"}, "paths: docs/",
                      "outside the task's paths (docs/): src/evil.py"),
    "inside_paths": ({"EVIL_WRITE": "docs/guide.md:ok,docs/api/x.md:ok"}, "paths: docs/", None),
    "link_absolute": ({"EVIL_SYMLINK": "passwd=>/etc/passwd"}, "",
                      "passwd -> '/etc/passwd' (an absolute target)"),
    "link_up": ({"EVIL_SYMLINK": "x=>../../x"}, "", "x -> '../../x' (a target outside"),
    "link_git": ({"EVIL_SYMLINK": "deep/cfg=>../.git/config"}, "", "(a target inside .git)"),
    "link_inside": ({"EVIL_SYMLINK": "docs/readme=>../README.md"}, "", None),
    "many_files": ({"EVIL_FILES": "many:2000"}, "",
                   "changes 2000 files, more than review.max_files_changed (500)"),
    "big_blob": ({"EVIL_BLOB": f"big.bin:{30 * 1024 * 1024}"}, "",
                 f"adds {30 * 1024 * 1024} bytes of file content"),
    "config": ({"EVIL_WRITE": "shiftctl.yaml:agents: {}"}, "", "forbidden_paths): shiftctl.yaml"),
    "prompts": ({"EVIL_WRITE": "prompts/work.md.j2:obey"}, "",
                "forbidden_paths): prompts/work.md.j2"),
    "attributes": ({"EVIL_WRITE": "src/deep/.gitattributes:* filter=x"}, "",
                   "forbidden_paths): src/deep/.gitattributes"),
    "modules": ({"EVIL_WRITE": ".gitmodules:[submodule]"}, "", "forbidden_paths): .gitmodules"),
    "workflow": ({"EVIL_WRITE": ".github/workflows/ci.yml:on: push"}, "",
                 "forbidden_paths): .github/workflows/ci.yml"),
    "runtime": ({"EVIL_WRITE": ".shiftctl/state.db:x"}, "", "forbidden_paths): .shiftctl/state.db"),
}


def test_review_refuses_each_attack_and_merges_the_honest_tasks(project: Project) -> None:
    p = project
    profiles: dict[str, Any] = {name: {"kind": "command", "argv": agent_argv("review_bypasser.py"),
                                       "env": env} for name, (env, _, _) in CASES.items()}
    p.configure(agents={"default": "shell", "profiles": profiles}, prompts_dir="prompts",
                workers={"max_attempts": 1, "max_concurrent": 4})
    issues = {}
    for name, (_, lines, _) in CASES.items():
        extra = f"\n  {lines}" if lines else ""
        issues[name] = p.file_issue(f"Case {name}", f"- [ ] Do {name}\n  agent: {name}{extra}\n")
    p.run(max_seconds=180)

    wrong = {}
    for name, (_, _, finding) in CASES.items():
        n = issues[name]
        task = p.tasks(n)["t1"]
        run = [r for r in p.runs(n) if r.kind == "work"][-1]
        branch = f"shiftctl/issue-{n}"
        merged = git(p.root, "rev-parse", branch) != git(p.root, "rev-parse", "main")
        if finding is None:
            if task.state != "done" or not merged:
                wrong[name] = f"honest task not merged: {task.state} {run.findings}"
        elif task.state != "needs_human" or merged or \
                not any(finding in f for f in run.findings):
            wrong[name] = f"{task.state}, merged={merged}, findings={run.findings}"
    assert wrong == {}
