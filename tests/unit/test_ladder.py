"""The ladder is pure: plain snapshots in, one rung's decision out."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from shiftctl.admin.config import parse
from shiftctl.admin.cycle import ladder
from shiftctl.admin.cycle.outcomes import after_run, backoff, dependents
from shiftctl.admin.cycle.snapshot import RunView, Snapshot
from shiftctl.admin.launchers.base import Liveness
from shiftctl.memory.store import Issue, Run, Task

NOW = 1_000_000.0
CFG = parse({"agents": {"default": "shell"}, "workers": {"max_concurrent": 2}}, Path("/r"))


def issue(n: int = 1, state: str = "active", **kw) -> Issue:
    kw.setdefault("labels", ["shiftctl"])  # still asked for: the intake label is on
    return Issue(number=n, title=f"issue {n}", state=state, plan_version=1, **kw)


def task(key: str, state: str = "ready", n: int = 1, deps=(), paths=(), tid=None, **kw) -> Task:
    return Task(id=tid or hash((n, key)) % 10_000, issue=n, key=key, title=key, state=state,
                depends_on=list(deps), paths=list(paths), **kw)


def view(run: Run, t: Task | None, age: float = 10.0, **seen: Any) -> RunView:
    """A run as its launcher would have seen it: alive, beating, quiet or not per ``seen``."""
    probe = {"alive": True, "heartbeat_age": 1.0, "output_age": 1.0, "result_ready": False}
    return RunView(run=run, task=t, age=age, seen=Liveness(**(probe | seen)))


def running(t: Task, **kw: Any) -> RunView:
    return view(Run(id=f"r-{t.key}", issue=t.issue, task_id=t.id, started_at=NOW - 10, pid=1),
                t, **kw)


def snap(*tasks: Task, issues=None, runs=(), **kw) -> Snapshot:
    issues = issues or [issue()]
    return Snapshot(now=NOW, config=kw.pop("config", CFG), issues={i.number: i for i in issues},
                    tasks=tuple(tasks), runs=tuple(runs), **kw)


def verbs(d: ladder.Decision | None) -> list[tuple[str, object]]:
    return [(a.verb, a.target) for a in d.actions] if d else []


def test_first_rung_with_work_wins() -> None:
    t = task("t1")
    s = snap(t, problems=("disk: full",))
    assert ladder.decide(s).rung == "health"
    assert ladder.decide(replace(s, problems=())).rung == "assign"
    assert ladder.decide(snap(task("t1", "done"))).rung == "unblock"  # finish the issue
    assert ladder.decide(snap(issues=[issue(state="done")])).rung == "sleep"


def test_unblock_collects_finished_and_dead_runs_and_reclaims_expired_leases() -> None:
    a, b, c = task("a", "running", tid=1), task("b", "running", tid=2), task("c", "running", tid=3)
    d = task("d", "running", tid=4)
    runs = [running(a, result_ready=True), running(b, alive=False),
            running(c, heartbeat_age=CFG.workers.lease + 1), running(d)]
    got = verbs(ladder.unblock(snap(a, b, c, d, runs=runs)))
    assert ("collect", "r-a") in got and ("collect", "r-b") in got
    assert ("reclaim", "r-c") in got
    assert not any(target == "r-d" for _, target in got)


def test_unblock_promotes_when_dependencies_are_done_and_cancels_when_they_cannot_be() -> None:
    done, failed = task("t1", "done", tid=1), task("t2", "needs_human", tid=2)
    waits_ok = task("t3", "pending", deps=["t1"], tid=3)
    waits_bad = task("t4", "pending", deps=["t1", "t2"], tid=4)
    waits_more = task("t5", "pending", deps=["t3"], tid=5)
    got = verbs(ladder.unblock(snap(done, failed, waits_ok, waits_bad, waits_more)))
    assert ("promote", 3) in got and ("cancel_task", 4) in got
    assert not any(t == 5 for _, t in got)


def test_retry_waits_for_its_backoff() -> None:
    early = task("t1", "retry", not_before=NOW + 5)
    late = task("t2", "retry", not_before=NOW - 1, tid=9)
    got = verbs(ladder.unblock(snap(early, late)))
    assert got == [("promote", 9)]
    s = snap(early)
    assert ladder.sleep_hint(s, ladder.decide(s)) <= 5.5


def test_issue_finishes_when_all_done_and_is_stuck_when_nothing_can_move() -> None:
    assert ("finish", 1) in verbs(ladder.unblock(snap(task("a", "done"), task("b", "done", tid=7))))
    stuck = snap(task("a", "done", tid=1), task("b", "needs_human", tid=2),
                 task("c", "cancelled", tid=3, reason="upstream task b ended needs_human"))
    assert ("stuck", 1) in verbs(ladder.unblock(stuck))
    moving = snap(task("a", "needs_human", tid=1), task("b", "ready", tid=2))
    assert ("stuck", 1) not in verbs(ladder.unblock(moving))


def test_assign_respects_the_ceiling_and_never_overlaps_paths() -> None:
    t1 = task("t1", paths=["src/"], tid=1, position=1)
    t2 = task("t2", paths=["src/app.py"], tid=2, position=2)
    t3 = task("t3", paths=["docs/"], tid=3, position=3)
    t4 = task("t4", tid=4, position=4)
    assert verbs(ladder.assign(snap(t1, t2, t3, t4))) == [("spawn", 1), ("spawn", 3)]
    busy = snap(t2, t3, task("t0", "running", paths=["src"], tid=5),
                runs=[running(task("t0", "running", paths=["src"], tid=5))])
    assert verbs(ladder.assign(busy)) == [("spawn", 3)]


def test_paths_overlap_by_whole_components() -> None:
    assert ladder.paths_overlap(["src"], ["src/a.py"])
    assert ladder.paths_overlap(["./src/"], ["src"])
    assert not ladder.paths_overlap(["src"], ["srcs/a.py"])
    assert not ladder.paths_overlap(["a.py"], ["b.py"])


def test_assign_prefers_critical_issues_and_stops_at_the_kill_switch() -> None:
    normal, critical = issue(1), issue(2, priority=2)
    tasks = [task("t1", n=1, tid=1), task("t1", n=2, tid=2), task("t2", n=2, tid=3)]
    s = snap(*tasks, issues=[normal, critical])
    assert verbs(ladder.assign(s)) == [("spawn", 2), ("spawn", 3)]
    assert ladder.assign(replace(s, stopped=True)) is None


def test_budgets_hold_back_dispatch() -> None:
    cfg = parse({"agents": {"default": "paid", "profiles": {"paid": {
        "kind": "shell", "typical_cost_usd": 2}}}, "budget": {"usd_per_day": 5,
                                                              "usd_per_issue": 3}}, Path("/r"))
    t = task("t1")
    assert verbs(ladder.assign(snap(t, config=cfg))) == [("spawn", t.id)]
    assert ladder.assign(snap(t, config=cfg, spent_today=4)) is None
    assert ladder.assign(snap(t, config=cfg, issue_costs={1: 1.5})) is None
    assert ("over_budget", 1) in verbs(ladder.unblock(snap(t, config=cfg, issue_costs={1: 3})))


def test_cooldown_moves_tasks_to_the_fallback_or_waits() -> None:
    cfg = parse({"agents": {"default": "a", "profiles": {
        "a": {"kind": "shell", "fallback": "b"}, "b": {"kind": "shell"},
        "c": {"kind": "shell"}}}}, Path("/r"))
    t = task("t1")
    d = ladder.assign(snap(t, config=cfg, cooldowns={"a": NOW + 60}))
    assert d and d.actions[0].detail == "b"
    lone = task("t2", profile="c", tid=5)
    assert ladder.assign(snap(lone, config=cfg, cooldowns={"c": NOW + 60})) is None


def test_workers_rung_kills_stuck_workers_and_everything_on_stop() -> None:
    t = task("t1", "running")
    late = running(t, age=CFG.workers.task_timeout + 120)
    silent = running(t, output_age=CFG.workers.stall_timeout + 120, age=700)
    fine = running(t)
    assert verbs(ladder.workers(snap(t, runs=[late]))) == [("kill", "r-t1")]
    assert verbs(ladder.workers(snap(t, runs=[silent]))) == [("kill", "r-t1")]
    assert ladder.workers(snap(t, runs=[fine])) is None
    assert verbs(ladder.workers(snap(t, runs=[fine], stopped=True))) == [("kill", "r-t1")]


def test_sleep_hint_is_adaptive() -> None:
    idle = snap(issues=[issue(state="done")])
    assert ladder.sleep_hint(idle, ladder.Decision("sleep")) == CFG.sleep.idle
    t = task("t1", "running")
    busy = snap(t, runs=[running(t)])
    assert ladder.sleep_hint(busy, ladder.Decision("sleep")) == CFG.sleep.busy
    assert ladder.sleep_hint(idle, ladder.Decision("assign")) == CFG.sleep.after_action
    sick = replace(idle, unhealthy_streak=3)
    assert ladder.sleep_hint(sick, ladder.Decision("health")) == 40.0


def test_after_acting_the_loop_goes_on_at_once_while_the_next_cycle_has_new_work() -> None:
    review = ladder.Decision("review", (ladder.Action("review", 1, "1-t1"),))
    assign = ladder.Decision("assign", (ladder.Action("spawn", 2, "shell"),))
    idle = snap(issues=[issue(state="done")])
    t = task("t1", "running")
    busy = snap(t, runs=[running(t)])
    assert ladder.sleep_hint(idle, review, then=(idle, assign)) == 0.0
    # nothing left: sleep as a sleeping cycle would, busy while workers run
    assert ladder.sleep_hint(idle, assign, then=(busy, ladder.Decision("sleep"))) == \
        CFG.sleep.busy
    assert ladder.sleep_hint(idle, review, then=(idle, ladder.Decision("sleep"))) == \
        CFG.sleep.idle
    # the same decision again means no progress: wait sleep.after_action, never spin
    assert ladder.sleep_hint(idle, review, then=(idle, review)) == CFG.sleep.after_action
    assert ladder.sleep_hint(idle, review, then=(idle, ladder.Decision("health"))) == \
        CFG.sleep.after_action


def test_progressable() -> None:
    assert not ladder.progressable(snap(issues=[issue(state="done")]))
    assert ladder.progressable(snap(task("t1", "ready")))
    assert not ladder.progressable(snap(task("t1", "needs_human")))
    assert not ladder.progressable(snap(issues=[issue(state="planned")]))
    assert ladder.progressable(snap(issues=[issue(state="new")]))


def test_after_run_kinds_of_retry() -> None:
    assert after_run("succeeded", attempts=1, max_attempts=3, now=0).state == "review"
    s = after_run("failed", attempts=2, max_attempts=3, now=100, error="boom")
    assert (s.state, s.not_before, s.counted) == ("retry", 120.0, True)
    s = after_run("failed", attempts=3, max_attempts=3, now=0, error="boom")
    assert s.state == "needs_human" and s.comment == "failed"
    s = after_run("rate_limited", attempts=3, max_attempts=3, now=0)
    assert (s.state, s.counted) == ("ready", False)
    s = after_run("blocked", attempts=1, max_attempts=3, now=0, question="why?")
    assert (s.state, s.counted, s.comment) == ("needs_human", False, "question")
    s = after_run("unauthenticated", attempts=1, max_attempts=3, now=0, error="claude: 401")
    assert (s.state, s.counted, s.comment) == ("needs_human", False, "unauthenticated")
    assert s.not_before is None and s.reason == "credentials refused: claude: 401"
    assert [backoff(n) for n in (1, 2, 3, 6, 9)] == [10, 20, 40, 300, 300]


def test_dependents_are_transitive() -> None:
    graph = {"a": [], "b": ["a"], "c": ["b"], "d": [], "e": ["c", "d"]}
    assert dependents(graph, "a") == ["b", "c", "e"]


def test_every_verb_the_ladder_can_emit_has_a_handler() -> None:
    import inspect
    import re

    from shiftctl.admin.cycle import executor
    source = inspect.getsource(ladder)
    verbs = set(re.findall(r'Action\("([a-z_]+)"', source))
    assert verbs, "no verbs found"
    for verb in verbs | {"repair", "flush"}:
        assert callable(executor.handler(verb)), verb


CHECKED = parse({"agents": {"default": "shell"}, "checks": [{"name": "t", "run": "true",
                                                             "timeout": 30}]}, Path("/r"))
HEAD = "a" * 40


def verify_run(n: int = 1, **kw: Any) -> RunView:
    run = Run(id="v1", issue=n, kind="verify", started_at=NOW - 10, pid=1, subject=HEAD)
    return view(run, None, **({"output_age": 500.0} | kw))


def test_with_checks_all_done_starts_a_verify_and_finishes_only_once_the_head_passed() -> None:
    done = (task("a", "done", tid=1), task("b", "done", tid=2))
    at_head = [issue(integration_head=HEAD)]
    s = snap(*done, issues=at_head, config=CHECKED)
    assert verbs(ladder.unblock(s)) == [("verify", 1)]
    assert verbs(ladder.unblock(replace(s, runs=(verify_run(),)))) == []  # running: wait
    passed = replace(s, verified_heads={1: {HEAD}})
    assert verbs(ladder.unblock(passed)) == [("finish", 1)]
    older = replace(s, verified_heads={1: {"b" * 40}})  # a passing head, but not this one
    assert verbs(ladder.unblock(older)) == [("verify", 1)]
    assert verbs(ladder.unblock(replace(s, stopped=True))) == []  # the kill switch
    assert verbs(ladder.unblock(snap(*done, issues=at_head))) == [("finish", 1)]  # no checks


def test_with_checks_nothing_is_published_before_the_head_passed() -> None:
    some = (task("a", "done", tid=1), task("b", "ready", tid=2))
    s = snap(*some, issues=[issue(integration_head=HEAD)], config=CHECKED)
    assert ("publish", 1) not in verbs(ladder.unblock(s))
    assert ("publish", 1) in verbs(ladder.unblock(replace(s, verified_heads={1: {HEAD}})))
    assert ("publish", 1) in verbs(ladder.unblock(snap(*some)))  # no checks: as each merges


def test_a_held_issue_is_neither_reviewed_assigned_published_nor_finished() -> None:
    held = [issue(integration_head=HEAD, integration_hold="moved")]
    review = task("r", "review", tid=1)
    ready = task("s", "ready", tid=2)
    s = snap(review, ready, task("d", "done", tid=3), issues=held)
    assert ladder.review(s) is None and ladder.assign(s) is None
    assert not any(t == 1 for _, t in verbs(ladder.unblock(s)))
    assert not ladder.progressable(s)
    free = snap(review, ready, task("d", "done", tid=3), issues=[issue(integration_head=HEAD)])
    assert ladder.review(free) is not None and ladder.assign(free) is not None


def test_a_verify_run_is_killed_only_past_its_checks_time_limit() -> None:
    limit = sum(c.timeout for c in CHECKED.checks) + ladder.KILL_GRACE_S
    quiet = snap(issues=[issue()], runs=(verify_run(output_age=10_000, age=limit - 1),),
                 config=CHECKED)
    assert ladder.workers(quiet) is None  # checks print nothing for a while: not a stall
    late = replace(quiet, runs=(verify_run(age=limit + 1),))
    assert verbs(ladder.workers(late)) == [("kill", "v1")]
    assert ladder.sleep_hint(quiet, ladder.Decision("sleep")) == CHECKED.sleep.busy


def test_a_due_backup_is_maintenance_and_never_outranks_work() -> None:
    due = snap(issues=[issue(state="done")], backup_due=True)
    assert verbs(ladder.decide(due)) == [("backup", None)]
    assert ladder.decide(replace(due, backup_due=False)).rung == "sleep"
    assert ladder.decide(snap(task("t1"), backup_due=True)).rung == "assign"


def test_an_issue_closed_or_unlabelled_is_cancelled_before_anything_is_dispatched() -> None:
    for gone, why in ((issue(tracker_state="closed"), "closed on the tracker"),
                      (issue(labels=["shiftctl:active"]), "intake label `shiftctl` was removed")):
        t = task("t1", "ready")
        done = task("t2", "done")
        s = snap(t, done, issues=[gone], runs=[running(task("t3", "running"))])
        d = ladder.decide(s)
        assert d.rung == "unblock" and ("cancel_issue", 1) in verbs(d)
        assert why in next(a.detail for a in d.actions if a.verb == "cancel_issue")
        assert "publish" not in [v for v, _ in verbs(d)]
        assert ladder.assign(s) is None  # re-checked right before dispatch, too
        assert ladder.intake(snap(issues=[replace(gone, state="new")])) is None


def test_a_finished_or_still_asked_for_issue_is_not_withdrawn() -> None:
    assert ladder.withdrawn(snap(), issue()) is None
    finished = issue(state="done", labels=[])
    assert "cancel_issue" not in [v for v, _ in verbs(ladder.unblock(snap(issues=[finished])))]
