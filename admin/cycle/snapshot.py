"""What one cycle knows: the state db, the processes, the files. Built once, then read-only.

``Snapshot`` is plain data so the ladder can be tested without git, trackers or processes;
``observe`` is the one place that gathers it from the machine.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from shiftctl.admin.config import Config
from shiftctl.admin.paths import READ_PREFIX, Paths
from shiftctl.memory.store import Command, Issue, Run, Store, Task
from shiftctl.system.fs import LinkedPathError, atomic_write, check_unlinked

if TYPE_CHECKING:
    from shiftctl.admin.launchers.base import Launcher, Liveness

ACTIVE_ISSUE_STATES = ("new", "planned", "active", "needs_human", "done")
TASK_LOAD_STATES = ("planned", "active", "needs_human")
MIN_FREE_BYTES = 200 * 1024 * 1024
CHECKPOINT_EVERY_S = 3600.0
LAST_CHECKPOINT = "last_checkpoint"  # kv: when the WAL was last checkpointed
LAST_BACKUP = "last_backup"          # kv: when state.db was last backed up


@dataclass(frozen=True)
class RunView:
    """A run, its task, its age, and what its launcher saw of it (``seen``)."""
    run: Run
    task: Task | None
    age: float
    seen: Liveness


@dataclass(frozen=True)
class Snapshot:
    now: float
    config: Config
    issues: dict[int, Issue] = field(default_factory=dict)
    tasks: tuple[Task, ...] = ()
    runs: tuple[RunView, ...] = ()
    commands: tuple[Command, ...] = ()
    problems: tuple[str, ...] = ()
    stopped: bool = False
    spent_today: float = 0.0
    issue_costs: dict[int, float] = field(default_factory=dict)
    issue_runs: dict[int, int] = field(default_factory=dict)
    cooldowns: dict[str, float] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)  # profile -> why it cannot start
    stale_worktrees: tuple[str, ...] = ()
    checkpoint_due: bool = False
    backup_due: bool = False
    memory_due: bool = False
    unhealthy_streak: int = 0
    verified_heads: dict[int, set[str]] = field(default_factory=dict)  # heads whose checks passed

    def tasks_of(self, issue: int) -> list[Task]:
        return [t for t in self.tasks if t.issue == issue]

    def running(self) -> list[RunView]:
        return [r for r in self.runs if r.run.kind == "work"]


def view_run(run: Run, task: Task | None, now: float, launcher: Launcher) -> RunView:
    """The run as the ladder sees it; only ``launcher`` (the one that started it) knows how
    to tell whether it lives."""
    seen = launcher.probe(run, now)
    if seen.host is None and run.host is not None:
        seen = replace(seen, host=run.host)
    return RunView(run=run, task=task, age=now - run.started_at, seen=seen)


def base_branch_problem(config: Config) -> str | None:
    """Why the base branch cannot be used, or None. A repository without a commit has no
    branch at all: that needs a first commit, not another base_branch."""
    from shiftctl.system import git  # on a memo miss only: an idle cycle starts no git
    if git.rev(config.root, f"refs/heads/{config.base_branch}") is not None:
        return None
    if not git.out(config.root, "for-each-ref", "--count=1", "refs/heads/", check=False):
        return ("the repository has no commits yet: make a first commit "
                "(git commit --allow-empty -m 'first commit'), then run shiftctl again")
    return f"base branch {config.base_branch!r} does not exist (set base_branch in shiftctl.yaml)"


def health_problems(config: Config, paths: Paths) -> list[str]:
    """What stops the cycle from working here: git, the base branch, disk space."""
    problems = []
    for place in (paths.runtime, paths.worktrees, paths.runs):
        try:
            check_unlinked(paths.root, place)
        except LinkedPathError as exc:
            problems.append(f"files: {exc}")
    problems += _git_health(config, paths, memo=not problems)  # never through a link
    try:
        free = shutil.disk_usage(paths.runtime).free
        if free < MIN_FREE_BYTES:
            problems.append(f"disk: only {free // (1024 * 1024)} MB free under {paths.runtime}")
    except OSError as exc:
        problems.append(f"disk: {exc}")
    return problems


def _git_signature(config: Config) -> str | None:
    """What a healthy repository looked like, cheaply: the identity and times of the files
    git reads to answer "is this a repository with that base branch" (None: not a plain
    ``.git`` directory, so always ask git)."""
    dot_git = config.root / ".git"
    if dot_git.is_symlink() or not dot_git.is_dir():
        return None
    parts = [config.base_branch]
    for name in ("HEAD", "config", "objects", "refs", "packed-refs",
                 f"refs/heads/{config.base_branch}"):
        try:
            st = os.lstat(dot_git / name)
            parts.append(f"{name}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)


def _git_health(config: Config, paths: Paths, *, memo: bool = True) -> list[str]:
    """Is the repository usable, with its base branch? Two git processes answer; an idle
    cycle asks them only when the files they read changed since they last said yes (the
    answer is kept in ``.shiftctl/git-healthy``), which is most of what an idle cycle
    would otherwise spend."""
    signature = _git_signature(config) if memo else None
    memo_file = paths.runtime / "git-healthy"
    if signature is not None:
        try:
            if memo_file.read_text() == signature:
                return []
        except OSError:
            pass
    from shiftctl.system import git  # the memo did not answer
    proc = git.run(config.root, "rev-parse", "--git-dir", check=False)
    if proc.returncode != 0:
        return [f"git: {config.root} is not a usable git repository"]
    if why := base_branch_problem(config):
        return [f"git: {why}"]
    if signature is not None:
        try:
            atomic_write(memo_file, signature, durable=False)
        except OSError:
            pass  # only a memo: the next cycle asks git again
    return []


def unusable_profiles(config: Config, profiles: set[str],
                      refused: Mapping[str, str] | None = None) -> dict[str, str]:
    """Profiles that cannot start here, and why: credentials their provider refused (until a
    person's ``/retry`` or ``/replan``), a missing CLI, or a sandbox that cannot run."""
    if not profiles:
        return {}
    from shiftctl.admin.profiles import executable, sandbox_in_force  # sandbox: not when idle
    refused = refused or {}
    out = {}
    for name in profiles:
        prof = config.agents.profiles.get(name)
        if prof is None:
            continue
        if name in refused:
            out[name] = (f"the provider refused the credentials of agent profile {name!r} "
                         f"({refused[name]})")
        elif shutil.which(executable(prof)) is None:
            out[name] = (f"agent CLI {executable(prof)!r} for profile {name!r} is not installed "
                         "or not on PATH")
        elif why := sandbox_in_force(config, prof).error:
            out[name] = f"profile {name!r} {why}"
    return out


def _stale_worktrees(store: Store, paths: Paths, issues: dict[int, Issue],
                     open_runs: set[str]) -> list[str]:
    """Worktree directories whose task, issue or read-only run is finished, and every
    symbolic link there: shiftctl never makes one, never follows one, and removes it (as a
    link) so that nothing is ever done through it."""
    try:
        check_unlinked(paths.root, paths.worktrees)
        entries = sorted(os.scandir(paths.worktrees), key=lambda e: e.name)
    except (FileNotFoundError, LinkedPathError):  # a linked worktrees/ is a health problem
        return []
    stale = [e.name for e in entries if e.is_symlink()]
    names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    for name in names:
        if name.startswith(READ_PREFIX):
            if name[len(READ_PREFIX):] not in open_runs:
                stale.append(name)  # its worker removes it; this is a crashed one's
            continue
        if name.startswith("issue-"):
            num = name[len("issue-"):]
            issue = issues.get(int(num)) if num.isdigit() else None
            if issue is None and num.isdigit():
                row = store.issue(int(num))
                if row is None or row.state in ("closed", "cancelled"):
                    stale.append(name)
            continue
        task = store.task_by_ref(name)
        if task is None or task.state in ("done", "cancelled"):
            stale.append(name)
    return stale


def _last_done(store: Store, key: str, now: float) -> float:
    """When a periodic chore (kv ``key``) last ran; never: count from the first cycle. One kv
    read, so an idle cycle stays cheap."""
    done = store.get(key)
    if done is not None:
        return float(done)
    first = store.conn.execute("SELECT started_at FROM cycles ORDER BY number LIMIT 1").fetchone()
    return float(first[0]) if first else now


def observe(config: Config, paths: Paths, store: Store, now: float | None = None,
            extra_problems: list[str] | None = None) -> Snapshot:
    now = time.time() if now is None else now
    issues = {i.number: i for i in store.issues(ACTIVE_ISSUE_STATES)}
    loaded = [n for n, i in issues.items() if i.state in TASK_LOAD_STATES]
    tasks: list[Task] = []
    for n in loaded:
        tasks += store.tasks(issue=n)
    by_id = {t.id: t for t in tasks}
    runs = []
    open_runs = store.open_runs()
    if open_runs:  # an idle cycle has no run to ask a launcher about
        from shiftctl.admin.launchers import Picker
        launcher_of = Picker(config, paths)
        for run in open_runs:
            task = by_id.get(run.task_id) if run.task_id else None
            if task is None and run.task_id:
                task = store.task(run.task_id)
            runs.append(view_run(run, task, now, launcher_of(run)))
    day_start = now - (now % 86400)
    needed = {t.profile or config.agents.default for t in tasks if t.state == "ready"}
    backup_every = config.memory.backup_interval * 3600
    backup_due = backup_every > 0 and now - _last_done(store, LAST_BACKUP, now) >= backup_every
    problems = health_problems(config, paths) + list(extra_problems or [])
    return Snapshot(
        now=now, config=config, issues=issues, tasks=tuple(tasks), runs=tuple(runs),
        commands=tuple(store.pending_commands()), problems=tuple(problems),
        stopped=paths.stop.exists(), spent_today=store.cost_since(day_start),
        issue_costs={n: store.issue_cost(n) for n in loaded},
        issue_runs={n: store.issue_run_count(n) for n in loaded},
        cooldowns=store.cooldowns(now),
        unusable=unusable_profiles(config, needed, store.refusals() if needed else None),
        stale_worktrees=tuple(_stale_worktrees(store, paths, issues,
                                               {rv.run.id for rv in runs})),
        checkpoint_due=now - _last_done(store, LAST_CHECKPOINT, now) > CHECKPOINT_EVERY_S,
        backup_due=backup_due,
        memory_due=config.memory.enabled and store.distillation_due(),
        unhealthy_streak=int(store.get("unhealthy_streak", "0") or 0),
        verified_heads={n: store.verified_heads(n) for n in loaded} if config.checks else {},
    )
