"""Does memory compound? Ten similar issues in a row, with memory off and on.

The target repository has a check that every change must touch ``CHANGELOG.md``. The agent
(``tests/agents/scripted.py``) writes the feature file every task asks for, and touches
``CHANGELOG.md`` only when its prompt mentions it: the known mistake. Without memory, only a
task's own retry learns it (working memory carries the failing check's output), so every
issue fails its first attempt. With memory, the first failure and its fix become a lesson,
and every later issue's first prompt carries it.

Lessons come only from work a person accepted, so, as its maintainer would, the benchmark
merges each issue's pull request (the local tracker's ``pr merge``, a real git merge) before it
files the next issue; the cycle that sees the merge closes the issue and distils its episodes.

The agent "bills" its prompt at ``--usd-per-mtok`` per million input tokens (prompt chars / 4),
so the cost figures include what memory adds to every prompt.

    .venv/bin/python scripts/bench_memory.py [--issues 10] [--backoff 0.2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

from shiftctl.admin.cycle.loop import run_loop  # noqa: E402
from shiftctl.admin.paths import Paths  # noqa: E402
from shiftctl.admin.tracker.local import LocalTracker  # noqa: E402
from shiftctl.memory.store import Store  # noqa: E402

AGENT = ROOT / "tests" / "agents" / "scripted.py"
CHECK = """\
#!/bin/sh
# House rule: every change adds an entry to the changelog.
if git diff --quiet "$(git merge-base HEAD main)" HEAD -- CHANGELOG.md; then
  echo "CHANGELOG.md was not updated: every change needs an entry there"
  exit 1
fi
"""


@dataclass
class IssueResult:
    number: int
    attempts: int
    first_attempt_ok: bool
    done: bool
    cost_usd: float
    seconds: float


@dataclass
class Sequence:
    memory: bool
    issues: list[IssueResult] = field(default_factory=list)
    lessons: list[dict] = field(default_factory=list)

    @property
    def first_attempt_successes(self) -> int:
        return sum(i.first_attempt_ok for i in self.issues)

    @property
    def attempts(self) -> int:
        return sum(i.attempts for i in self.issues)

    @property
    def cost_usd(self) -> float:
        return sum(i.cost_usd for i in self.issues)

    @property
    def seconds(self) -> float:
        return sum(i.seconds for i in self.issues)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
                   cwd=repo, check=True, capture_output=True)


def build_repo(repo: Path, *, memory: bool, backoff: float, usd_per_mtok: float) -> Path:
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("# bench\n")
    (repo / "CHANGELOG.md").write_text("# Changelog\n")
    (repo / "check_changelog.sh").write_text(CHECK)
    env = {"AGENT_WRITE": "features/{task}.txt:{task}",
           "AGENT_WRITE_IF": "CHANGELOG.md=>CHANGELOG.md:- {task}",
           "AGENT_BILL": str(usd_per_mtok)}
    config = {
        "base_branch": "main",
        "tracker": {"kind": "local", "intake_label": "shiftctl", "allowed_authors": ["bench"]},
        "agents": {"default": "scripted", "profiles": {"scripted": {
            "kind": "command", "argv": [sys.executable, str(AGENT), "{prompt_file}", "{worktree}"],
            "env": env}}},
        "checks": [{"name": "changelog", "run": "sh check_changelog.sh", "timeout": 60}],
        "workers": {"max_concurrent": 2, "max_attempts": 3, "backoff_base": backoff,
                    "backoff_cap": max(backoff, 1.0), "task_timeout": 120, "stall_timeout": 60},
        "sleep": {"after_action": 0, "busy": 2, "idle": 60, "wake_check": 0.5},
        "memory": {"enabled": memory},
    }
    (repo / "shiftctl.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


def merge_ready_pr(repo: Path, issue: int) -> bool:
    """Merge the issue's pull request as its maintainer would, when it is ready."""
    tracker = LocalTracker(Paths(repo).ensure_tracker(), repo, ["bench"])
    try:
        ready = [pr for pr in tracker.list_prs("open") if pr.issue == issue and not pr.draft]
        for pr in ready:
            tracker.merge_pr(pr.number)
        return bool(ready)
    finally:
        tracker.close()


def run_sequence(workdir: Path, *, memory: bool, issues: int = 10, backoff: float = 0.2,
                 usd_per_mtok: float = 3.0) -> Sequence:
    """File ``issues`` similar issues one after another, each run until idle."""
    repo = build_repo(workdir / ("with-memory" if memory else "without-memory"),
                      memory=memory, backoff=backoff, usd_per_mtok=usd_per_mtok)
    out = Sequence(memory=memory)
    for k in range(1, issues + 1):
        tracker = LocalTracker(Paths(repo).ensure_tracker(), repo, ["bench"])
        try:
            number = tracker.new_issue(f"feat{k} add feature number {k}",
                                       f"Add feature {k}: create features/feat{k}.txt.",
                                       ["shiftctl"], "bench").number
        finally:
            tracker.close()
        started = time.monotonic()
        run_loop(repo, until_idle=True, max_seconds=120)
        if merge_ready_pr(repo, number):  # a person accepts the work; memory may learn from it
            run_loop(repo, until_idle=True, max_seconds=120)
        seconds = time.monotonic() - started
        store = Store.open(repo / ".shiftctl" / "state.db", readonly=True)
        try:
            runs = [r for r in store.runs(issue=number) if r.kind == "work"]
            tasks = store.tasks(issue=number)
            out.issues.append(IssueResult(
                number=number, attempts=len(runs),
                first_attempt_ok=bool(runs) and all(t.state == "done" for t in tasks)
                and len(runs) == len(tasks),
                done=bool(tasks) and all(t.state == "done" for t in tasks),
                cost_usd=sum(r.cost_usd for r in runs), seconds=seconds))
        finally:
            store.close()
    store = Store.open(repo / ".shiftctl" / "state.db", readonly=True)
    try:
        from shiftctl.memory import lessons
        out.lessons = [lesson.to_dict() for lesson in lessons.listing(store.conn)]
    finally:
        store.close()
    return out


def report(runs: list[Sequence]) -> str:
    lines = [f"{'memory':<8} {'issues':>6} {'1st-try ok':>10} {'attempts':>8} {'cost $':>9} "
             f"{'$/run':>8} {'wall s':>7}  attempts per issue"]
    for seq in runs:
        per_run = seq.cost_usd / seq.attempts if seq.attempts else 0.0
        lines.append(f"{'on' if seq.memory else 'off':<8} {len(seq.issues):>6} "
                     f"{seq.first_attempt_successes:>7}/{len(seq.issues):<2} {seq.attempts:>8} "
                     f"{seq.cost_usd:>9.4f} {per_run:>8.5f} {seq.seconds:>7.1f}  "
                     + " ".join(str(i.attempts) for i in seq.issues))
    for seq in runs:
        for lesson in seq.lessons:
            lines.append(f"  lesson {lesson['id']} ({lesson['kind']}, shown {lesson['shown']}, "
                         f"helped {lesson['helped']}): {lesson['text'][:120]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10)
    parser.add_argument("--backoff", type=float, default=0.2,
                        help="workers.backoff_base in seconds (the default config uses 10)")
    parser.add_argument("--usd-per-mtok", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shiftctl-bench-memory-") as tmp:
        os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
        results = [run_sequence(Path(tmp), memory=m, issues=args.issues, backoff=args.backoff,
                                usd_per_mtok=args.usd_per_mtok) for m in (False, True)]
    if args.json:
        print(json.dumps([{"memory": s.memory, "issues": [i.__dict__ for i in s.issues],
                           "lessons": s.lessons} for s in results], indent=2))
    else:
        print(report(results))


if __name__ == "__main__":
    main()
