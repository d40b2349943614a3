"""One integration branch per issue, an admin-owned worktree for merging, one PR per issue.

Every step is safe to repeat: a task already contained in the integration branch is not
merged again, the PR is found by its head branch before one is opened, and comments carry
markers (see ``outbox``).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from shiftctl.admin.cycle import faults
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.paths import issue_branch, task_branch
from shiftctl.admin.tracker.base import PullRequest
from shiftctl.admin.untrusted import one_line
from shiftctl.memory.store import Issue, Task
from shiftctl.system import git

STATE_MARK = {"done": "x", "cancelled": "-"}


def ensure_integration(rt: CycleContext, issue: Issue) -> str:
    """The issue's integration branch exists (from the base branch); returns its head SHA
    (looked up once per cycle: starting 16 tasks of an issue asked git 16 times)."""
    root, branch = rt.config.root, issue_branch(issue.number)
    sha = rt.integration_heads.get(issue.number) or git.rev(root, f"refs/heads/{branch}")
    if sha is None:
        git.run(root, "branch", branch, f"refs/heads/{rt.config.base_branch}")
        sha = git.rev(root, f"refs/heads/{branch}")
    if issue.branch != branch:
        rt.store.update_issue(issue.number, branch=branch)
        issue.branch = branch
    assert sha is not None
    rt.integration_heads[issue.number] = sha
    return sha


def set_aside_stale_branches(rt: CycleContext, issue: Issue) -> list[str]:
    """Before an issue's first plan: branches named for it that this state db never made.

    They come from an earlier life of ``.shiftctl/`` (deleted, or a local tracker that
    numbers from 1 again). An integration branch with an open PR on the tracker is this
    issue's own work and is kept; anything else with commits of its own is renamed out of the
    way, never deleted.
    """
    root, n = rt.config.root, issue.number
    names = git.out(root, "for-each-ref", "--format=%(refname:short)",
                    f"refs/heads/{issue_branch(n)}", f"refs/heads/shiftctl/{n}-*").split()
    if not names:
        return []
    pr = rt.tracker.find_pr(issue_branch(n))
    if pr is not None and pr.state == "open":
        return []
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = f"refs/heads/{rt.config.base_branch}"
    moved = []
    for name in names:
        if not git.commits_between(root, base, f"refs/heads/{name}"):
            continue  # holds nothing the base does not: safe to reuse
        target = f"shiftctl/stale/{stamp}/{name.removeprefix('shiftctl/')}"
        git.run(root, "branch", "-m", name, target)
        moved.append(target)
    rt.store.event("git.stale_branches", issue=n, moved=moved)
    return moved


def integration_worktree(rt: CycleContext, issue: int) -> Path:
    """The issue's merge worktree, clean and on its branch. Once this cycle has left it so
    (nothing else touches it while the cycle holds the admin lock), it is not checked again:
    that was five git calls per task reviewed."""
    root, wt, branch = rt.config.root, rt.paths.issue_worktree(issue), issue_branch(issue)
    if issue in rt.clean_worktrees:
        return wt
    if git.is_worktree(wt):
        git.clean_reset(wt)
        if git.out(wt, "rev-parse", "--abbrev-ref", "HEAD") != branch:
            git.run(wt, "checkout", "-q", "-f", branch)
        return wt
    git.worktree(root, "prune", check=False)
    if wt.exists():
        shutil.rmtree(wt)
    wt.parent.mkdir(parents=True, exist_ok=True)
    git.add_worktree(root, wt, branch, "-f")
    return wt


def merge_task(rt: CycleContext, task: Task, head: str | None = None) -> tuple[bool, str]:
    """Merge the task branch (at ``head``, when the caller has looked it up) into the
    integration branch: (merged, sha or why not)."""
    root = rt.config.root
    head = head or git.rev(root, f"refs/heads/{task_branch(task.issue, task.key)}")
    if head is None:
        return False, "the task branch is missing"
    ibranch = issue_branch(task.issue)
    if git.is_ancestor(root, head, f"refs/heads/{ibranch}"):
        return True, head  # merged by a cycle that crashed before recording it
    wt = integration_worktree(rt, task.issue)
    rt.integration_heads.pop(task.issue, None)
    rt.clean_worktrees.discard(task.issue)
    message = f"shiftctl: merge {task.ref}: {task.title}"[:200]
    proc = git.run(wt, *git.IDENTITY, "merge", "--no-ff", "--no-edit", "-m", message, head,
                   check=False)
    if proc.returncode != 0:
        conflicts = git.out(wt, "diff", "--name-only", "--diff-filter=U", check=False)
        git.clean_reset(wt)
        rt.clean_worktrees.add(task.issue)
        files = ", ".join(conflicts.split()) or "(unknown files)"
        return False, (f"merge conflict with the integration branch in {files}; rebase your "
                       "work on what has been integrated since")
    faults.point("after_merge")
    rt.clean_worktrees.add(task.issue)
    return True, git.out(wt, "rev-parse", "HEAD")


def pr_body(rt: CycleContext, issue: Issue) -> str:
    tasks = [t for t in rt.store.tasks(issue=issue.number) if t.plan_version == issue.plan_version]
    lines = [f"Closes #{issue.number}.", "",
             f"shiftctl integrated the tasks of issue #{issue.number} on this branch:", ""]
    for t in tasks:
        mark = STATE_MARK.get(t.state, " ")
        lines.append(f"- [{mark}] **{t.key}** {t.title} — {t.state}, {t.attempts} attempt(s), "
                     f"${t.cost_usd:.2f}")
    total = sum(t.cost_usd for t in tasks)
    lines += ["", f"Total agent cost: ${total:.2f}. A human merges this; shiftctl never does."]
    return "\n".join(lines)


def publish(rt: CycleContext, issue: Issue) -> PullRequest:
    """Push the integration branch and open or refresh the issue's draft PR."""
    branch = issue_branch(issue.number)
    rt.tracker.push(rt.config.root, branch)
    faults.point("after_push")
    body = pr_body(rt, issue)
    pr, opened = rt.outbox.pull_request(issue=issue.number, head=branch,
                                        base=rt.config.base_branch,
                                        title=f"shiftctl: {one_line(issue.title, 200)} "
                                              f"(#{issue.number})",
                                        body=body)
    if issue.pr != pr.number or issue.pr_state != pr.state:
        rt.store.update_issue(issue.number, pr=pr.number, pr_state=pr.state)
        issue.pr, issue.pr_state = pr.number, pr.state
    if not opened:
        rt.outbox.pr_body(pr, issue.number, body)
    rt.outbox.comment(issue.number, "pr", pr.number,
                      f"Opened draft pull request #{pr.number} from `{branch}`. It gathers each "
                      "task as it is merged and is marked ready when all are done.")
    return pr


def finish(rt: CycleContext, issue: Issue) -> str:
    pr = publish(rt, issue)
    if pr.draft:
        rt.tracker.update_pr(pr.number, draft=False)
    done = [t for t in rt.store.tasks(issue=issue.number, states=("done",))
            if t.plan_version == issue.plan_version]
    cost = rt.store.issue_cost(issue.number)
    with rt.store.tx():
        rt.outbox.comment(issue.number, "done", issue.plan_version,
                          f"All {len(done)} task(s) are merged. Pull request #{pr.number} is "
                          f"ready for review (agent cost ${cost:.2f}). A human merges it.")
        rt.store.set_issue_state(issue.number, "done")
        rt.outbox.label(issue.number, "done")
    return f"finish #{issue.number}: PR #{pr.number} ready"
