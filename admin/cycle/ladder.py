"""The priority ladder (docs/design.md §4): eight pure rungs, ``(Snapshot) -> Decision | None``.

The cycle takes the first rung that returns a decision. Nothing here touches git, the
tracker, processes or the clock: every fact comes in through the snapshot, so each rung is
tested with plain data.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shiftctl.admin.cycle.snapshot import RunView, Snapshot
from shiftctl.memory.store import TASK_FAILED, Issue, Task

MAX_PLANS_PER_CYCLE = 3
MAX_REVIEWS_PER_CYCLE = 5
KILL_GRACE_S = 60.0


@dataclass(frozen=True)
class Action:
    verb: str
    target: int | str | None = None
    detail: str = ""

    def __str__(self) -> str:
        parts = [self.verb]
        if self.target is not None:
            parts.append(str(self.target))
        if self.detail:
            parts.append(f"({self.detail})")
        return " ".join(parts)


@dataclass(frozen=True)
class Decision:
    rung: str
    actions: tuple[Action, ...] = field(default_factory=tuple)


# -- helpers -------------------------------------------------------------------------------
def deps_state(task: Task, tasks: dict[str, Task]) -> str:
    """'done' when every dependency is done, 'failed' when one can never finish, else 'wait'."""
    states = [tasks[d].state if d in tasks else "cancelled" for d in task.depends_on]
    if any(s in TASK_FAILED for s in states):
        return "failed"
    return "done" if all(s == "done" for s in states) else "wait"


def _keyed(s: Snapshot, issue: int) -> dict[str, Task]:
    return {t.key: t for t in s.tasks_of(issue)}


def path_parts(path: str) -> tuple[str, ...]:
    """A path's components, as path claims compare them (``./a//b/`` is ``('a', 'b')``)."""
    return tuple(x for x in path.strip().strip("/").split("/") if x and x != ".")


def paths_overlap(a: list[str], b: list[str]) -> bool:
    """Two path claims overlap when one is a prefix (by whole components) of the other."""
    for x in a:
        px = path_parts(x)
        for y in b:
            py = path_parts(y)
            n = min(len(px), len(py))
            if px[:n] == py[:n]:
                return True
    return False


def needs_approval(s: Snapshot, issue: Issue) -> bool:
    return issue.state == "planned" and not issue.approved


def issue_settled(s: Snapshot, issue: Issue) -> str | None:
    """'done' when all tasks are done, 'stuck' when nothing left can move without a human."""
    tasks = [t for t in s.tasks_of(issue.number) if t.plan_version == issue.plan_version]
    if not tasks:
        return None
    if all(t.state in ("done", "cancelled") for t in tasks) and \
            any(t.state == "done" for t in tasks) and \
            not any(t.state == "cancelled" and t.reason and t.reason.startswith("upstream")
                    for t in tasks):
        return "done"
    moving = [t for t in tasks if t.state in ("ready", "running", "review", "retry")
              or (t.state == "pending" and deps_state(t, _keyed(s, issue.number)) != "failed")]
    if not moving and any(t.state in TASK_FAILED for t in tasks):
        return "stuck"
    return None


WITHDRAWABLE = ("new", "planned", "active", "needs_human")


def withdrawn(s: Snapshot, issue: Issue) -> str | None:
    """Why the person no longer asks for this issue, by the tracker's view of this cycle (the
    sync has just mirrored it): closed, or its intake label removed. None: still asked for."""
    if issue.tracker_state == "closed":
        return "closed on the tracker"
    label = s.config.tracker.intake_label
    if label not in issue.labels:
        return f"the intake label `{label}` was removed"
    return None


def held(s: Snapshot, number: int) -> bool:
    """Is the issue's integration branch on hold (found where shiftctl did not leave it)?"""
    issue = s.issues.get(number)
    return issue is not None and bool(issue.integration_hold)


def verifying(s: Snapshot, number: int) -> bool:
    return any(rv.run.kind == "verify" and rv.run.issue == number for rv in s.runs)


def verified(s: Snapshot, issue: Issue) -> bool:
    """Has the recorded integration head passed the configured checks (or are there none)?"""
    return not s.config.checks or (
        issue.integration_head is not None
        and issue.integration_head in s.verified_heads.get(issue.number, ()))


# -- the rungs -----------------------------------------------------------------------------
def health(s: Snapshot) -> Decision | None:
    if not s.problems:
        return None
    return Decision("health", tuple(Action("repair", None, p) for p in s.problems))


def unblock(s: Snapshot) -> Decision | None:
    acts: list[Action] = []
    lease = s.config.workers.lease
    for rv in s.runs:
        seen = rv.seen
        if seen.result_ready or not seen.alive:
            acts.append(Action("collect", rv.run.id, "finished" if seen.result_ready else "gone"))
        elif seen.heartbeat_age is not None and seen.heartbeat_age > lease:
            acts.append(Action("reclaim", rv.run.id, f"heartbeat {seen.heartbeat_age:.0f}s old"))
        elif seen.heartbeat_age is None and rv.age > lease:
            acts.append(Action("reclaim", rv.run.id, "no heartbeat"))
    open_tasks = {rv.task.id for rv in s.runs if rv.task is not None}
    for t in s.tasks:
        if t.state == "running" and t.id not in open_tasks:
            acts.append(Action("orphan", t.id, t.ref))
    for cmd in s.commands:
        acts.append(Action("command", cmd.id, f"{cmd.verb} {cmd.arg}".strip()))
    for issue in s.issues.values():
        if issue.state in WITHDRAWABLE and (why := withdrawn(s, issue)):
            acts.append(Action("cancel_issue", issue.number, why))  # stops its runs too
            continue
        if issue.state == "planned" and issue.approved:
            acts.append(Action("activate", issue.number))
        if issue.state != "active":
            continue
        keyed = _keyed(s, issue.number)
        for t in keyed.values():
            if t.plan_version != issue.plan_version:
                continue
            if t.state == "pending":
                dep = deps_state(t, keyed)
                if dep == "done":
                    acts.append(Action("promote", t.id, t.ref))
                elif dep == "failed":
                    acts.append(Action("cancel_task", t.id, t.ref))
            elif t.state == "retry" and (t.not_before or 0) <= s.now:
                acts.append(Action("promote", t.id, t.ref))
        if held(s, issue.number):
            continue
        settled = issue_settled(s, issue)
        if issue.pr is None and settled != "done" and verified(s, issue) and \
                any(t.state == "done" and t.plan_version == issue.plan_version
                    for t in keyed.values()):
            acts.append(Action("publish", issue.number))
        if settled == "done":
            if verified(s, issue):
                acts.append(Action("finish", issue.number))
            elif not verifying(s, issue.number) and not s.stopped:
                acts.append(Action("verify", issue.number))
        elif settled == "stuck":
            acts.append(Action("stuck", issue.number))
        elif issue_out_of_budget(s, issue.number):
            acts.append(Action("over_budget", issue.number))
    return Decision("unblock", tuple(acts)) if acts else None


def _judging(s: Snapshot, kind: str) -> set[int]:
    """Issues (plan) or task ids (judge) that a read-only run is working on now."""
    return {(rv.run.issue if kind == "plan" else rv.run.task_id or 0)
            for rv in s.runs if rv.run.kind == kind}


def intake(s: Snapshot) -> Decision | None:
    planner = s.config.planner
    if planner.kind == "agent" and available(s, planner.profile) is None:
        return None  # the planner (and its fallbacks) cool down: new issues wait
    planning = _judging(s, "plan")
    new = sorted((i for i in s.issues.values() if i.state == "new" and i.number not in planning
                  and withdrawn(s, i) is None),
                 key=lambda i: (-i.priority, i.number))
    acts = [Action("plan", i.number) for i in new[:MAX_PLANS_PER_CYCLE]]
    return Decision("intake", tuple(acts)) if acts else None


def review(s: Snapshot) -> Decision | None:
    judge = s.config.review.judge
    if judge and available(s, judge) is None:
        return None  # the reviewer (and its fallbacks) cool down: reviews wait
    judging = _judging(s, "judge")
    waiting = [t for t in s.tasks if t.state == "review" and t.id not in judging
               and not held(s, t.issue)]
    # a whole wave of finished workers in one cycle: a merge takes a few git calls, starting
    # the next cycle process costs more than that
    most = max(MAX_REVIEWS_PER_CYCLE, s.config.workers.max_concurrent)
    acts = [Action("review", t.id, t.ref) for t in waiting[:most]]
    return Decision("review", tuple(acts)) if acts else None


def _profile_for(s: Snapshot, task: Task) -> str | None:
    """The profile a task runs on now: its own, or its fallback while that one cools down."""
    return available(s, task.profile or s.config.agents.default)


def available(s: Snapshot, name: str | None) -> str | None:
    """``name``, or the first of its fallbacks that is not cooling down (None: all are)."""
    seen = set()
    while name and name not in seen:
        seen.add(name)
        if name not in s.cooldowns:
            return name
        prof = s.config.agents.profiles.get(name)
        name = prof.fallback if prof else None
    return None


def typical_cost(s: Snapshot, profile: str | None) -> float:
    prof = s.config.agents.profiles.get(profile or s.config.agents.default)
    return prof.typical_cost_usd if prof else 0.0


def issue_budget_left(s: Snapshot, issue: int) -> float:
    return s.config.budget.usd_per_issue - s.issue_costs.get(issue, 0.0)


def day_budget_blocks(s: Snapshot, typical: float, spent: float | None = None) -> bool:
    """Would a run of this typical cost overrun today's budget?"""
    spent = s.spent_today if spent is None else spent
    return spent >= s.config.budget.usd_per_day or spent + typical > s.config.budget.usd_per_day


def issue_out_of_budget(s: Snapshot, issue: int) -> bool:
    """No run of this issue can start within its budget (checked when none is running)."""
    if any(rv.run.issue == issue for rv in s.runs):
        return False
    waiting = [t for t in s.tasks_of(issue) if t.state in ("ready", "retry")]
    if not waiting:
        return False
    left = issue_budget_left(s, issue)
    return left <= 0 or min(typical_cost(s, _profile_for(s, t) or t.profile)
                            for t in waiting) > left


def assign(s: Snapshot) -> Decision | None:
    if s.stopped:
        return None
    running = s.running()
    free = s.config.workers.max_concurrent - len(running)
    ready = [t for t in s.tasks if t.state == "ready" and not held(s, t.issue)
             and s.issues.get(t.issue) is not None and s.issues[t.issue].state == "active"
             and withdrawn(s, s.issues[t.issue]) is None]  # re-checked right before dispatch
    if not ready:
        return None
    ready.sort(key=lambda t: (-s.issues[t.issue].priority, t.issue, t.position, t.id))
    claimed = [rv.task.paths for rv in running if rv.task is not None]
    acts: list[Action] = []
    spent = s.spent_today
    for t in ready:
        profile = _profile_for(s, t)
        if profile is None:
            continue  # every profile for it is cooling down: it waits, no attempt spent
        if profile in s.unusable:
            acts.append(Action("no_agent", t.id, profile))
            continue
        if free <= 0:
            continue
        typical = typical_cost(s, profile)
        if day_budget_blocks(s, typical, spent):
            continue  # today's budget is spent: it waits for tomorrow, no attempt spent
        issue_left = issue_budget_left(s, t.issue)
        if issue_left <= 0 or typical > issue_left:
            continue  # the unblock rung hands the issue to a human
        if s.issue_runs.get(t.issue, 0) >= s.config.limits.max_runs_per_issue:
            acts.append(Action("run_cap", t.id, t.ref))
            continue
        if t.paths and any(paths_overlap(t.paths, c) for c in claimed):
            continue
        acts.append(Action("spawn", t.id, profile))
        claimed.append(t.paths)
        spent += typical
        free -= 1
    return Decision("assign", tuple(acts)) if acts else None


def _overdue(s: Snapshot, rv: RunView) -> str | None:
    w = s.config.workers
    if rv.run.kind == "verify":  # no agent, only the checks: their timeouts are the limit
        limit = sum(c.timeout for c in s.config.checks) + KILL_GRACE_S
        return f"past its time limit ({rv.age:.0f}s)" if rv.age > limit else None
    prof = s.config.agents.profiles.get(rv.run.profile or "")
    timeout = (prof.task_timeout if prof and prof.task_timeout else w.task_timeout)
    stall = (prof.stall_timeout if prof and prof.stall_timeout else w.stall_timeout)
    # the worker enforces both limits itself; these are the backstop for a stuck worker,
    # whose checks phase also counts towards the total
    limit = timeout + sum(c.timeout for c in s.config.checks) + KILL_GRACE_S
    if rv.age > limit:
        return f"past its time limit ({rv.age:.0f}s)"
    if rv.seen.output_age is not None and rv.seen.output_age > stall + KILL_GRACE_S and \
            rv.age < timeout:
        return f"stalled ({rv.seen.output_age:.0f}s without output)"
    return None


def workers(s: Snapshot) -> Decision | None:
    acts = []
    for rv in s.runs:
        if not rv.seen.alive or rv.seen.result_ready:
            continue
        if s.stopped:
            acts.append(Action("kill", rv.run.id, "kill switch"))
            continue
        why = _overdue(s, rv)
        if why:
            acts.append(Action("kill", rv.run.id, why))
    return Decision("workers", tuple(acts)) if acts else None


def maintenance(s: Snapshot) -> Decision | None:
    acts = []
    for issue in s.issues.values():
        if issue.pr and issue.pr_state == "merged" and issue.state == "done":
            acts.append(Action("close_issue", issue.number, "PR merged"))
        elif issue.pr and issue.pr_state == "closed" and issue.state in ("done", "active"):
            acts.append(Action("pr_closed", issue.number))
        elif issue.tracker_state == "closed" and issue.state == "done":
            acts.append(Action("closed_on_tracker", issue.number))
    for name in s.stale_worktrees:
        acts.append(Action("remove_worktree", name))
    if s.memory_due:
        acts.append(Action("distil"))
    if s.checkpoint_due and not s.runs:
        acts.append(Action("checkpoint"))
    if s.backup_due:
        acts.append(Action("backup"))
    return Decision("maintenance", tuple(acts)) if acts else None


RUNGS: tuple[tuple[str, Callable[[Snapshot], Decision | None]], ...] = (
    ("health", health), ("unblock", unblock), ("intake", intake), ("review", review),
    ("assign", assign), ("workers", workers), ("maintenance", maintenance),
)


def decide(s: Snapshot) -> Decision:
    for _name, rung in RUNGS:
        decision = rung(s)
        if decision is not None:
            return decision
    return Decision("sleep")


def next_due(s: Snapshot) -> float | None:
    """The earliest moment something scheduled becomes actionable (retry backoff, cooldown)."""
    times = [t.not_before for t in s.tasks if t.state == "retry" and t.not_before]
    times += [u for u in s.cooldowns.values()
              if any(t.state in ("ready", "review") for t in s.tasks)
              or any(i.state == "new" for i in s.issues.values())]
    return min(times) if times else None


def sleep_hint(s: Snapshot, decision: Decision, *, failed: bool = False,
               then: tuple[Snapshot, Decision] | None = None) -> float:
    """Seconds to nap after this cycle. Unhealthy or failing cycles back off exponentially.

    ``then`` is how things look after the cycle acted, and what the next cycle would do:
    new work (a collected task to review, a promoted task to assign) goes on at once, nothing
    left to do sleeps as long as a sleeping cycle would; only a cycle whose successor would
    repeat it (no progress) waits ``sleep.after_action``.
    """
    cfg = s.config.sleep
    if decision.rung == "health" or failed:
        return min(cfg.idle, max(cfg.after_action, 5.0) * (2 ** min(s.unhealthy_streak, 10)))
    if decision.rung != "sleep":
        if then is not None:
            after, following = then
            if following.rung == "sleep":
                return sleep_hint(after, following)
            if following != decision and following.rung != "health":
                return 0.0
        return cfg.after_action
    base = cfg.busy if s.runs else cfg.idle
    due = next_due(s)
    if due is not None:
        base = min(base, max(0.0, due - s.now) + 0.5)
    return round(base, 3)


def progressable(s: Snapshot) -> bool:
    """Is anything left that can move without a human? (``run --until-idle`` stops when not.)"""
    if s.runs:
        return True
    for issue in s.issues.values():
        if issue.state == "new":
            return True
        if issue.state == "planned" and issue.approved:
            return True
        if issue.pr_state == "merged" and issue.state == "done":
            return True
    keyed_by_issue = {n: _keyed(s, n) for n in s.issues}
    for t in s.tasks:
        owner = s.issues.get(t.issue)
        if owner is None or owner.state != "active" or held(s, t.issue):
            continue
        if t.state in ("ready", "review", "retry", "running"):
            if t.state == "ready" and (s.stopped or day_budget_blocks(
                    s, typical_cost(s, _profile_for(s, t) or t.profile))):
                continue  # waits for a person (stop) or for tomorrow's budget
            return True
        if t.state == "pending" and deps_state(t, keyed_by_issue[t.issue]) != "failed":
            return True
    return False
