"""Starting workers detached, and ending them: the admin's only process side effects."""
from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiftctl.admin import launchers
from shiftctl.admin.briefing.prompts import digest
from shiftctl.admin.briefing.work import kept_commits, work_prompt
from shiftctl.admin.config import Config
from shiftctl.admin.cycle import faults
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.cycle.ladder import Action
from shiftctl.admin.paths import task_branch
from shiftctl.admin.profiles import agent_spec, strictest_sandbox, worker_pass_env
from shiftctl.admin.review.integration import trusted_head
from shiftctl.memory import lessons
from shiftctl.memory.store import Run, Task
from shiftctl.system import sandbox
from shiftctl.system.env import build_env
from shiftctl.system.fs import atomic_write, check_unlinked, write_json
from shiftctl.worker.spec import AgentSpec, CheckSpec, Spec, TaskSpec


def start(rt: CycleContext, run: Run, spec: Spec, task: Task | None, *,
          lesson_ids: Sequence[int] = (), **task_changes: Any) -> None:
    """Record the run, then start its worker with the configured launcher.

    Record first, then start: a crash in between leaves a run with no process, which the
    next cycle collects as crashed, never a worker the state db does not know about.
    """
    launcher = launchers.current(rt.config, rt.paths)
    run.launcher = None if launcher.kind == "local" else launcher.kind
    spec_path = Path(spec.run_dir) / "spec.json"
    # Not fsynced (nor the prompt): if the machine dies before they reach the disk, the worker
    # dies with it and the next cycle collects the recorded run as gone.
    write_json(spec_path, spec.to_dict(), durable=False)
    with rt.store.tx():
        rt.store.start_run(run, task, **task_changes)
        lessons.mark_shown(rt.store.conn, run.id, list(lesson_ids))
    faults.point("after_record_run")
    env = build_env(os.environ, worker_pass_env(rt.config))
    started = launcher.launch(spec, env)
    faults.point("after_launch")
    rt.store.update_run(run.id, **started)


def _new_run_dir(rt: CycleContext, run_id: str, prompt: str) -> tuple[Path, Path]:
    """The run's directory with its prompt in it: (run dir, prompt file)."""
    run_dir = rt.paths.run_dir(run_id)
    check_unlinked(rt.paths.root, run_dir)  # never written through a planted link
    run_dir.mkdir(parents=True, exist_ok=True)
    prompt_file = run_dir / "prompt.md"
    atomic_write(prompt_file, prompt, durable=False)
    return run_dir, prompt_file


def spawn(rt: CycleContext, action: Action) -> str:
    cfg, paths, store = rt.config, rt.paths, rt.store
    task = rt.task(int(action.target or 0))
    if task.state != "ready":
        return f"skip {task.ref}: {task.state}"
    issue = rt.issue(task.issue)
    profile = cfg.agents.profiles[action.detail]
    attempt = task.attempts + 1
    run_id = f"{task.issue}-{task.key}-a{attempt}-{secrets.token_hex(3)}"
    base_sha = trusted_head(rt, issue, cached=True)
    if base_sha is None:
        return f"skip {task.ref}: the integration branch is on hold"
    previous = [r for r in store.runs(task_id=task.id) if r.kind == "work" and r.ended_at]
    kept = kept_commits(previous)
    brief = work_prompt(rt, issue, task, attempt, previous, task_branch(task.issue, task.key))
    run_dir, prompt_file = _new_run_dir(rt, run_id, brief.text)
    spec = Spec(run_id=run_id, run_dir=str(run_dir), repo=str(cfg.root),
                worktree=str(paths.task_worktree(task.issue, task.key)),
                branch=task_branch(task.issue, task.key), base_ref=issue.branch or "",
                base_sha=base_sha,
                task=TaskSpec(issue=task.issue, key=task.key, title=task.title, body=task.body),
                agent=agent_spec(cfg, profile), prompt_file=str(prompt_file),
                checks=[CheckSpec(c.name, c.run, c.timeout) for c in cfg.checks],
                keep_branch=bool(kept), keep_head=kept[-1] if kept else "",
                wake_file=str(paths.wake),
                commit_message=f"shiftctl {task.ref}: {task.title}"[:200],
                hidden=[str(paths.audit_dir)])
    run = Run(id=run_id, issue=task.issue, task_id=task.id, kind="work", attempt=attempt,
              profile=profile.name, started_at=rt.now, run_dir=str(run_dir),
              worktree=spec.worktree, branch=spec.branch, base_sha=base_sha,
              prompt_hash=brief.prompt_hash, context_hash=brief.context_hash)
    start(rt, run, spec, task, lesson_ids=brief.lesson_ids, attempts=attempt)
    return f"spawn {task.ref} attempt {attempt} on {profile.name} (run {run_id})"


def spawn_read(rt: CycleContext, *, kind: str, issue: int, task: Task | None, profile: str,
               prompt: str, base_sha: str, subject: str, attempt: int) -> Run:
    """A read-only run (``plan`` or ``judge``): the agent looks at a detached checkout of
    ``base_sha`` and answers; its final message is the product."""
    cfg = rt.config
    prof = cfg.agents.profiles[profile]
    run_id = f"{issue}-{kind}-{task.key + '-' if task else ''}a{attempt}-{secrets.token_hex(3)}"
    run_dir, prompt_file = _new_run_dir(rt, run_id, prompt)
    spec = Spec(run_id=run_id, run_dir=str(run_dir), repo=str(cfg.root),
                worktree=str(rt.paths.read_worktree(run_id)), branch="", base_ref="",
                base_sha=base_sha,
                task=TaskSpec(issue=issue, key=task.key if task else kind,
                              title=task.title if task else f"{kind} #{issue}",
                              body=task.body if task else ""),
                agent=agent_spec(cfg, prof, read_only=True), prompt_file=str(prompt_file),
                wake_file=str(rt.paths.wake), mode="read", hidden=[str(rt.paths.audit_dir)])
    run = Run(id=run_id, issue=issue, task_id=task.id if task else None, kind=kind,
              attempt=attempt, profile=profile, started_at=rt.now, run_dir=str(run_dir),
              worktree=spec.worktree, base_sha=base_sha, prompt_hash=digest(prompt),
              subject=subject)
    start(rt, run, spec, task)
    return run


def verify_agent(rt: CycleContext, issue: int) -> AgentSpec:
    """Who the integrated branch's checks run as: the default profile's environment, in the
    strictest sandbox any of the issue's tasks ran in (the checks run all their code)."""
    cfg = rt.config
    spec = agent_spec(cfg, cfg.agents.profile(None))
    spec.sandbox = strictest_sandbox(cfg, [t.profile for t in rt.store.tasks(issue=issue)],
                                     sandbox.probe())
    return spec


def spawn_verify(rt: CycleContext, issue: int, head: str, attempt: int) -> Run:
    """A ``verify`` run: the configured checks, and nothing else, on a detached checkout of
    the integration head ``head``, in a worker (they run code the agents wrote)."""
    cfg = rt.config
    run_id = f"{issue}-verify-a{attempt}-{secrets.token_hex(3)}"
    run_dir, prompt_file = _new_run_dir(rt, run_id, f"Run the checks on {head}.\n")
    spec = Spec(run_id=run_id, run_dir=str(run_dir), repo=str(cfg.root),
                worktree=str(rt.paths.read_worktree(run_id)), branch="", base_ref="",
                base_sha=head, task=TaskSpec(issue=issue, key="verify",
                                             title=f"checks of #{issue} at {head[:12]}"),
                agent=verify_agent(rt, issue), prompt_file=str(prompt_file),
                checks=[CheckSpec(c.name, c.run, c.timeout) for c in cfg.checks],
                wake_file=str(rt.paths.wake), mode="verify", hidden=[str(rt.paths.audit_dir)])
    run = Run(id=run_id, issue=issue, kind="verify", attempt=attempt, profile=spec.agent.profile,
              started_at=rt.now, run_dir=str(run_dir), worktree=spec.worktree, base_sha=head,
              subject=head)
    start(rt, run, spec, None)
    return run


def terminate(*runs: Run, grace: float = 5.0, config: Config | None = None) -> None:
    """End the runs' workers and agents, each through the launcher that started it (a run of
    a launcher other than ``local`` needs the ``config`` to reach it)."""
    by_kind: dict[str | None, list[Run]] = {}
    for run in runs:
        by_kind.setdefault(run.launcher, []).append(run)
    for group in by_kind.values():
        launchers.for_run(group[0], config).stop(group, grace)


def end_agent(run: Run, config: Config | None = None) -> None:
    """A worker that died without reporting may leave its agent running: end that too."""
    launchers.for_run(run, config).end_agent(run)


def kill(rt: CycleContext, action: Action) -> str:
    rv = rt.run_view(str(action.target))
    reason = action.detail
    intended = "stopped" if reason == "kill switch" else (
        "stalled" if reason.startswith("stalled") else "timed_out")
    rt.store.update_run(rv.run.id, outcome=intended, error=f"killed by the admin: {reason}")
    terminate(rv.run, config=rt.config)
    return f"kill {rv.run.id}: {reason}"
