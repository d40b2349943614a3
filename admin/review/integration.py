"""One integration branch per issue, an admin-owned worktree for merging, one PR per issue.

The branch is trusted only where shiftctl left it: its head is recorded in the same
transaction as each merge (the ref is moved afterwards), and ``trusted_head`` compares the
ref with that record before every merge, push and "ready" (``integrity``). A ref found
anywhere else puts the issue on hold for a person; nothing is merged onto it or pushed.
Merges take the exact commit review saw, never a branch name, and pushes send the recorded
commit, never whatever the ref points at by then.

Every step is safe to repeat: a crash between recording a merge and moving the ref is
repaired by the next check, the PR is found by its head branch before one is opened, and
comments carry markers (see ``outbox``).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from shiftctl.admin import humanize
from shiftctl.admin.cycle import faults
from shiftctl.admin.cycle.context import CycleContext
from shiftctl.admin.paths import issue_branch
from shiftctl.admin.review import integrity, report
from shiftctl.admin.tracker.base import PullRequest
from shiftctl.admin.untrusted import one_line
from shiftctl.memory import states
from shiftctl.memory.states import IssueState
from shiftctl.memory.store import Issue, Run, Store, Task, Usage
from shiftctl.system import git
from shiftctl.system.fs import check_unlinked


def _ref(issue: int) -> str:
    return f"refs/heads/{issue_branch(issue)}"


def ref_check(store: Store, root: Path, issue: Issue) -> integrity.RefCheck:
    """Where the issue's integration branch is, against where shiftctl last left it."""
    merges = store.merges(issue.number)
    return integrity.compare(issue.integration_head, merges[-1].before if merges else None,
                             git.rev(root, _ref(issue.number)))


def drifted(store: Store, root: Path) -> list[tuple[Issue, integrity.RefCheck]]:
    """Open issues whose integration branch is not where the recorded state left it, for
    ``state restore`` to name: merges made after the backup are not in the restored record,
    and shiftctl cannot tell its own lost merge from an agent's, so the next cycle holds
    each of these for a person. Read-only."""
    out = []
    for issue in store.issues():
        if issue.state in ("closed", "cancelled") or issue.integration_hold:
            continue
        check = ref_check(store, root, issue)
        if not check.trusted:
            out.append((issue, check))
    return out


def trusted_head(rt: CycleContext, issue: Issue, *, cached: bool = False) -> str | None:
    """The issue's integration head once the branch is confirmed to be at it (started from
    the base branch the first time, rebuilt when deleted); None when it is elsewhere (the
    issue is then on hold for a person). ``cached``: the head this cycle already confirmed
    (starting 16 tasks of an issue asked git 16 times)."""
    if issue.integration_hold:
        return None
    if cached and issue.number in rt.integration_heads:
        return rt.integration_heads[issue.number]
    check = ref_check(rt.store, rt.config.root, issue)
    head: str | None
    if check.state == integrity.OK:
        head = check.found
    elif check.state == integrity.UNRECORDED:
        head = _start(rt, issue, check.found)
    elif check.state == integrity.BEHIND:
        head = _catch_up(rt, issue, check)
    elif check.state == integrity.MISSING:
        head = rebuild(rt, issue)
    else:
        hold(rt, issue, check)
        head = None
    if head is None:
        rt.integration_heads.pop(issue.number, None)
        return None
    if issue.branch != issue_branch(issue.number):
        rt.store.update_issue(issue.number, branch=issue_branch(issue.number))
        issue.branch = issue_branch(issue.number)
    rt.integration_heads[issue.number] = head
    return head


def _start(rt: CycleContext, issue: Issue, found: str | None) -> str:
    """Nothing recorded yet: the branch starts at the base branch. A branch that already
    exists is adopted (a state db from before heads were recorded, or one recreated while
    the issue's PR is open; ``set_aside_stale_branches`` moved anything else away)."""
    root = rt.config.root
    base = git.rev(root, f"refs/heads/{rt.config.base_branch}")
    if base is None:
        raise LookupError(f"base branch {rt.config.base_branch!r} does not exist "
                          "(set base_branch in shiftctl.yaml)")
    if found is None:
        git.run(root, "update-ref", _ref(issue.number), base, "")
        head, start = base, base
    else:
        head = found
        start = git.out(root, "merge-base", found, base, check=False) or base
    with rt.store.tx():
        rt.store.update_issue(issue.number, integration_head=head, integration_base=start)
        rt.store.event("integration.start", issue=issue.number, head=head, base=start,
                       adopted=found is not None)
    issue.integration_head, issue.integration_base = head, start
    return head


def _catch_up(rt: CycleContext, issue: Issue, check: integrity.RefCheck) -> str | None:
    """The last merge was recorded but the cycle died before moving the ref: move it now
    (compare-and-swap, so a ref that moves meanwhile is not overwritten)."""
    assert check.expected is not None and check.found is not None
    proc = git.run(rt.config.root, "update-ref", _ref(issue.number), check.expected,
                   check.found, check=False)
    if proc.returncode != 0:
        hold(rt, issue, integrity.RefCheck(integrity.MOVED, check.expected,
                                           git.rev(rt.config.root, _ref(issue.number))))
        return None
    rt.store.event("integration.caught_up", issue=issue.number, head=check.expected,
                   was=check.found)
    return check.expected


def hold(rt: CycleContext, issue: Issue, check: integrity.RefCheck) -> None:
    """The ref is not where shiftctl left it: stop the issue for a person, say what was
    expected and what was found; nothing is merged onto it or pushed."""
    branch = issue_branch(issue.number)
    found = check.found or "(missing)"
    if check.found is None:
        why = (f"integration branch {branch} was deleted and the commits shiftctl recorded "
               "for it are gone")
        text = (f"The integration branch `{branch}` was deleted, and shiftctl cannot rebuild "
                f"it: the commit it recorded (`{check.expected}`) and the task commits merged "
                "into it are no longer in the repository. Work on this issue has stopped.\n\n"
                "Reply `/replan` to start the issue over, or `/cancel`.")
    else:
        why = (f"integration branch {branch} is at {found[:12]}, but shiftctl last recorded "
               f"{(check.expected or '?')[:12]}")
        text = (f"The integration branch `{branch}` is at `{found}`, but shiftctl last left it "
                f"at `{check.expected}`. Something other than shiftctl moved it (an agent, a "
                "tool or a person), so shiftctl no longer trusts it: work on this issue has "
                "stopped and nothing was pushed.\n\nTo go on, put the branch back "
                f"(`git update-ref refs/heads/{branch} {check.expected}`) or delete it "
                "(shiftctl rebuilds it from its own record), then reply `/retry` (or run "
                f"`shiftctl retry {issue.number}`).")
    with rt.store.tx():
        rt.store.update_issue(issue.number, integration_hold=why)
        rt.store.event("integration.mismatch", issue=issue.number, expected=check.expected,
                       found=check.found)
        rt.outbox.comment(issue.number, "integrity",
                          f"{(check.expected or 'x')[:12]}-{found[:12].strip('()')}", text)
        if issue.state != "needs_human":
            rt.store.set_issue_state(issue.number, IssueState.NEEDS_HUMAN, why[:500])
            rt.outbox.label(issue.number, "needs_human")
    issue.integration_hold = why
    rt.integration_heads.pop(issue.number, None)


def release_hold(rt: CycleContext, issue: Issue) -> str | None:
    """``/retry`` on a held issue: trust the branch again if it is back where shiftctl left
    it (or deleted, then rebuilt). Returns why not, or None."""
    if not issue.integration_hold:
        return None
    check = ref_check(rt.store, rt.config.root, issue)
    if not check.trusted:
        return (f"the integration branch is still at {(check.found or '?')[:12]}, not at "
                f"{(check.expected or '?')[:12]}")
    with rt.store.tx():
        rt.store.update_issue(issue.number, integration_hold=None)
        rt.store.event("integration.released", issue=issue.number, head=check.expected)
    issue.integration_hold = None
    return None


def forget_deleted(rt: CycleContext, issue: Issue) -> None:
    """``/replan`` of an issue whose branch is gone for good: the next plan starts the branch
    again from the base branch. (A branch that is present but moved stays held.)"""
    if issue.integration_hold and git.rev(rt.config.root, _ref(issue.number)) is None:
        rt.store.update_issue(issue.number, integration_hold=None, integration_head=None,
                              integration_base=None)
        rt.store.event("integration.forgotten", issue=issue.number,
                       head=issue.integration_head)


def rebuild(rt: CycleContext, issue: Issue) -> str | None:
    """The branch was deleted: recreate it at the recorded head, or, when that commit is
    gone too, merge the recorded task heads again onto the recorded base. A comment says so.
    None (and the issue on hold) when even that cannot be done."""
    root, recorded = rt.config.root, issue.integration_head
    assert recorded is not None
    how = "recreated it at the commit shiftctl recorded"
    head: str | None = recorded
    if git.rev(root, recorded) is None:
        head, how = _remerge(rt, issue)
    if head is None:
        hold(rt, issue, integrity.RefCheck(integrity.MISSING, recorded, None))
        return None
    git.run(root, "update-ref", _ref(issue.number), head, "")
    with rt.store.tx():
        if head != recorded:
            rt.store.update_issue(issue.number, integration_head=head)
        rt.store.event("integration.rebuilt", issue=issue.number, recorded=recorded, head=head,
                       how=how)
        rt.outbox.comment(issue.number, "rebuilt", f"{recorded[:12]}-{int(rt.now)}",
                          f"The integration branch `{issue_branch(issue.number)}` was deleted. "
                          f"shiftctl {how} (`{head}`) and goes on.")
    issue.integration_head = head
    return head


def _remerge(rt: CycleContext, issue: Issue) -> tuple[str | None, str]:
    """Merge every recorded task head, in order, onto the recorded base (the merge commits
    are new; the trees are those review and the checks saw)."""
    root, base = rt.config.root, issue.integration_base
    merges = rt.store.merges(issue.number)
    if base is None or git.rev(root, base) is None or \
            any(git.rev(root, m.head) is None for m in merges):
        return None, "could not rebuild it: its commits are gone"
    wt = integration_worktree(rt, issue.number, base)
    rt.clean_worktrees.discard(issue.number)
    head = base
    rewritten = []
    for m in merges:
        proc = git.run(wt, *git.IDENTITY, "merge", "--no-ff", "--no-edit", "-m",
                       f"shiftctl: merge {issue.number}-{m.task_key} (rebuilt)", m.head,
                       check=False)
        if proc.returncode != 0:
            git.clean_reset(wt)
            return None, f"could not rebuild it: merging {m.task_key} again conflicted"
        new = git.out(wt, "rev-parse", "HEAD")
        rewritten.append((m.id, head, new))
        head = new
    with rt.store.tx():
        for merge_id, before, new in rewritten:
            rt.store.rewrite_merge(merge_id, before=before, merge=new)
    rt.clean_worktrees.add(issue.number)
    return head, f"rebuilt it by merging the {len(merges)} recorded task commit(s) again"


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


def integration_worktree(rt: CycleContext, issue: int, head: str) -> git.Tree:
    """The issue's merge worktree, clean and detached at ``head`` (it never holds the branch:
    the ref is moved only once a merge is recorded). Once this cycle has left it so (nothing
    else touches it while the cycle holds the admin lock), it is not checked again. It is
    found from git's own records, never through a symbolic link or its ``.git`` file."""
    root, wt = rt.config.root, rt.paths.issue_worktree(issue)
    check_unlinked(root, wt)
    tree = git.find_worktree(root, wt, intact=True) if wt.is_dir() else None
    if tree is not None and issue in rt.clean_worktrees and git.rev(tree, "HEAD") == head:
        return tree
    if tree is not None:
        git.clean_reset(tree)
        git.run(tree, "checkout", "-q", "-f", "--detach", head)
        return tree
    return git.fresh_worktree(root, wt, head, "-f", "--detach")


def merge_task(rt: CycleContext, task: Task, head: str, before: str) -> tuple[bool, str]:
    """Merge the commit review saw (``head``) onto the trusted integration head ``before``,
    in the admin's worktree; nothing is recorded and the ref does not move yet (see
    ``record_merge`` and ``advance``). Returns (merged, the merge commit or why not)."""
    if git.is_ancestor(rt.config.root, head, before):
        return True, before  # nothing new: already contained in the integration branch
    wt = integration_worktree(rt, task.issue, before)
    rt.clean_worktrees.discard(task.issue)
    message = f"shiftctl: merge {task.ref}: {task.title}"[:200]
    proc = git.run(wt, *git.IDENTITY, "merge", "--no-ff", "--no-edit", "-m", message, head,
                   check=False)
    if proc.returncode != 0:
        conflicts = git.out(wt, "diff", "--name-only", "--diff-filter=U", check=False)
        git.clean_reset(wt)
        rt.clean_worktrees.add(task.issue)
        files = ", ".join(conflicts.split()) or "(unknown files)"
        return False, (f"{states.MERGE_CONFLICT} with the integration branch in {files}; "
                       "rebase your work on what has been integrated since")
    faults.point("after_merge")
    rt.clean_worktrees.add(task.issue)
    return True, git.out(wt, "rev-parse", "HEAD")


def record_merge(rt: CycleContext, issue: Issue, task: Task, run: Run, head: str, before: str,
                 merge: str) -> None:
    """Inside the transaction that marks the task done: the branch's new head."""
    if merge == before:
        return
    rt.store.record_merge(issue.number, task=task, run_id=run.id, head=head, before=before,
                          merge=merge)
    issue.integration_head = merge


def advance(rt: CycleContext, issue: Issue, merge: str, before: str) -> None:
    """Move the ref to the merge just recorded, only if it is still where it was checked
    (compare-and-swap); otherwise the next check finds it moved."""
    faults.point("after_record_merge")
    if merge == before:
        return
    proc = git.run(rt.config.root, "update-ref", _ref(issue.number), merge, before,
                   check=False)
    if proc.returncode == 0:
        rt.integration_heads[issue.number] = merge
    else:
        rt.integration_heads.pop(issue.number, None)


def checks_passed(rt: CycleContext, issue: Issue, head: str) -> bool:
    """May ``head`` be pushed and marked ready? With checks configured, only once they passed
    on exactly that commit (a ``verify`` run)."""
    return not rt.config.checks or head in rt.store.verified_heads(issue.number)


def checks_report(rt: CycleContext, issue: Issue) -> list[str]:
    """The PR body's account of the checks: which ran on which commit, with results."""
    if not rt.config.checks:
        return ["No checks are configured (`checks:` in shiftctl.yaml): nothing ran on the "
                "integrated branch."]
    runs = [r for r in rt.store.runs(issue=issue.number) if r.kind == "verify" and r.ended_at]
    latest = runs[-1] if runs else None
    if latest is None:
        return [f"The checks have not run on `{(issue.integration_head or '?')[:12]}` yet."]
    which = "this branch's head" if latest.subject == issue.integration_head else \
        "an earlier head of this branch"
    lines = [f"Checks run on the integrated branch at `{latest.subject}` ({which}):"]
    lines += [f"- {report.check_line(c)}" for c in latest.checks]
    if not latest.checks:
        lines.append(f"- did not run: {latest.error or latest.outcome}")
    return lines


def pr_body(rt: CycleContext, issue: Issue) -> str:
    tasks = [t for t in rt.store.tasks(issue=issue.number) if t.plan_version == issue.plan_version]
    lines = [f"Closes #{issue.number}.", "",
             f"shiftctl integrated the tasks of issue #{issue.number} on this branch:", ""]
    used = rt.store.usage(issue.number)
    for t in tasks:
        work = [r for r in rt.store.runs(task_id=t.id) if r.kind == "work" and r.ended_at]
        lines += report.task_lines(t, work[-1] if work else None, used.get(t.id, Usage()))
    total = sum(used.values(), Usage())
    lines += ["", *checks_report(rt, issue)]
    spent = humanize.spent(total)
    lines += ["", f"Total: {spent} (planning and review included). "
              "A human merges this; shiftctl never does."]
    return "\n".join(lines)


def refresh_pr_bodies(rt: CycleContext, issues: Iterable[int]) -> list[int]:
    """Queue a fresh PR body for each of ``issues`` that has an open PR (their tasks changed
    state this cycle: the body lists every task with its state and attempts)."""
    queued = []
    for number in sorted(set(issues)):
        issue = rt.store.issue(number)
        if issue is None or not issue.pr or issue.pr_state != "open":
            continue
        rt.outbox.pr_body_later(number, pr_body(rt, issue))
        queued.append(number)
    return queued


def publish(rt: CycleContext, issue: Issue) -> PullRequest | None:
    """Push the recorded integration head and open or refresh the issue's draft PR. None
    when the branch is on hold, or (with checks configured) its head has not passed them."""
    head = trusted_head(rt, issue)
    if head is None or not checks_passed(rt, issue, head):
        return None
    branch = issue_branch(issue.number)
    rt.tracker.push(rt.config.root, branch, head)
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
    if rt.config.checks:
        opened_text = (f"Opened draft pull request #{pr.number} from `{branch}` once the checks "
                       f"passed on its head `{head[:12]}`. It is marked ready when all tasks "
                       "are done and the checks pass on the integrated branch.")
    else:
        opened_text = (f"Opened draft pull request #{pr.number} from `{branch}`. It gathers "
                       "each task as it is merged and is marked ready when all are done.")
    rt.outbox.comment(issue.number, "pr", pr.number, opened_text)
    return pr


def finish(rt: CycleContext, issue: Issue) -> str:
    """All tasks merged (and, with checks, the integrated head passed them): push that head,
    then mark the PR ready once the branch is confirmed to be at it."""
    pr = publish(rt, issue)
    if pr is None:
        why = issue.integration_hold or "its head has not passed the checks"
        return f"skip finish #{issue.number}: {why}"
    if trusted_head(rt, issue) != issue.integration_head:
        return f"skip finish #{issue.number}: the integration branch moved"
    if pr.draft:
        rt.tracker.update_pr(pr.number, draft=False)
    done = [t for t in rt.store.tasks(issue=issue.number, states=("done",))
            if t.plan_version == issue.plan_version]
    cost = rt.store.issue_cost(issue.number)
    with rt.store.tx():
        rt.outbox.comment(issue.number, "done", issue.plan_version,
                          f"All {len(done)} task(s) are merged. Pull request #{pr.number} is "
                          f"ready for review (agent cost ${cost:.2f}). A human merges it.")
        rt.store.set_issue_state(issue.number, IssueState.DONE)
        rt.outbox.label(issue.number, "done")
    return f"finish #{issue.number}: PR #{pr.number} ready"
