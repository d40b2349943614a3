"""The whole loop on (fake) GitHub: quiet when idle, deaf to people without write access."""
from __future__ import annotations

import json
import time

import pytest

from support.github import GithubProject
from support.repos import git

ONE = "- [ ] go\n  ```sh\n  echo go > go.txt\n  ```\n"


def test_500_open_issues_5_intent_idle_cycles_make_at_most_one_request(
        gh_project: GithubProject) -> None:
    p, world, fake = gh_project, gh_project.gh.world, gh_project.gh.fake
    old = time.time() - 30 * 86400
    intent = []
    for i in range(500):
        ts = old + i * 3600
        if i % 100 == 7:
            intent.append(world.file_issue(f"Task {i}", ONE.replace("go.txt", f"f{i}.txt"),
                                           ["shiftctl"], "alice", ts=ts))
        elif i % 3 == 0:
            world.file_issue(f"Stranger {i}", ONE, ["shiftctl"], "mallory", ts=ts)
        else:
            world.file_issue(f"Other {i}", "", ["bug"] if i % 2 else [], "alice", ts=ts)
    assert len(intent) == 5

    mark = fake.mark()
    first = p.cycle()
    first_cost = len(fake.since(mark))
    mark = fake.mark()
    p.run()
    run_cost = len(fake.since(mark))
    assert {n: p.issue_state(n) for n in intent} == {n: "done" for n in intent}
    s = p.store()
    try:
        assert sorted(i.number for i in s.issues()) == sorted(intent)
    finally:
        s.close()

    idle = []
    used_before = fake.quota("shiftbot").used
    for _ in range(5):
        mark = fake.mark()
        result = p.cycle()
        assert result.rung == "sleep" and result.actions == []
        idle.append(len(fake.since(mark)))
    assert max(idle) <= 1, idle
    assert fake.quota("shiftbot").used == used_before  # all 304: no quota spent
    print(f"\n500 issues / 5 intent: first cycle {first_cost} requests ({first.rung}), "
          f"run to done {run_cost} requests, idle cycles {idle}")


def test_a_secondary_rate_limit_is_waited_out_and_no_write_is_lost(
        gh_project: GithubProject) -> None:
    p = gh_project
    n = p.file_issue("Limited", ONE)
    p.gh.fake.fail(403, retry_after=1, method="POST", path_contains="/comments", times=2)
    p.gh.fake.fail(429, retry_after=1, method="POST", path_contains="/labels")
    p.run()
    assert p.issue_state(n) == "done"
    bodies = [c["body"].splitlines()[0] for c in p.issue(n)["comments"]]
    assert len(bodies) == len(set(bodies)) and f"<!-- shiftctl:plan:{n}:1 -->" in bodies
    assert "shiftctl:done" in p.issue(n)["labels"]
    assert all(f.hits == f.times for f in p.gh.fake.faults)


def test_approve_from_a_user_without_write_permission_changes_nothing(
        gh_project: GithubProject) -> None:
    p, world = gh_project, gh_project.gh.world
    p.configure(approval={"plans": "always"})
    n = p.file_issue("Needs approval", ONE)
    p.run()
    assert p.issue_state(n) == "planned"
    p.comment(n, "/approve", author="mallory")       # read access
    world.add_labels(n, ["shiftctl:approved"], "tom")  # triage: may label, may not approve
    p.run()
    assert p.issue_state(n) == "planned" and p.runs() == []
    s = p.store()
    try:
        assert s.commands(issue=n) == [] and not s.issue(n).approved  # type: ignore[union-attr]
    finally:
        s.close()
    p.comment(n, "/approve", author="alice")
    p.run()
    assert p.issue_state(n) == "done"


def test_an_issue_labelled_by_a_user_without_write_permission_is_not_intake(
        gh_project: GithubProject) -> None:
    p, world = gh_project, gh_project.gh.world
    n = p.file_issue("Filed by alice, labelled by tom", ONE, labels=())
    world.add_labels(n, ["shiftctl"], "tom")
    p.run()
    s = p.store()
    try:
        assert s.issue(n) is None and s.runs() == []
    finally:
        s.close()
    assert p.issue(n)["comments"] == []
    world.remove_label(n, "shiftctl", "bob")
    world.add_labels(n, ["shiftctl"], "bob")  # now a maintainer asks for it
    p.run()
    assert p.issue_state(n) == "done"


def test_a_merged_pr_closes_the_issue_and_a_closed_one_needs_a_human(
        gh_project: GithubProject) -> None:
    p, world = gh_project, gh_project.gh.world
    a = p.file_issue("Merge me", ONE)
    b = p.file_issue("Close me", ONE.replace("go.txt", "b.txt"))
    p.run()
    prs = {pr["issue"]: pr for pr in p.prs()}
    assert prs[a]["draft"] is False and p.remote_branch(prs[a]["head"]) is not None
    world.merge_pull(prs[a]["number"], "alice")
    world.set_state(prs[b]["number"], "closed", "alice")
    p.run()
    assert p.issue_state(a) == "closed" and world.item(a).state == "closed"
    assert sum("shiftctl:closed:" in c["body"] for c in p.issue(a)["comments"]) == 1
    assert p.issue_state(b) == "needs_human"
    assert "shiftctl:needs-human" in p.issue(b)["labels"]
    assert git(p.gh.bare, "show", "main:go.txt") == "go"


def test_status_shows_the_quota_and_the_loop_slows_when_it_runs_low(
        gh_project: GithubProject) -> None:
    p = gh_project
    p.configure(sleep={"idle": 60, "after_action": 0, "busy": 2, "wake_check": 0.5})
    p.cycle()
    assert "requests left" in p.cli("status").stdout
    assert json.loads(p.cli("status", "--json").stdout)["tracker"]["rate"]["limit"] == 5000
    quota = p.gh.fake.quota("shiftbot")
    quota.used = quota.limit - 20
    quota.reset_at = time.time() + 3600
    p.gh.world.comment(p.file_issue("Busy", ONE, labels=("bug",)), "hi", "alice")  # news
    result = p.cycle()
    assert result.sleep_s > 60  # stretched beyond sleep.idle to make the quota last
    assert "quota low" in p.cli("status").stdout


@pytest.mark.parametrize("fault", ["after_comment", "after_label", "after_open_pr"])
def test_a_crash_between_writing_and_recording_never_writes_twice(
        gh_project: GithubProject, fault: str) -> None:
    import os
    p = gh_project
    n = p.file_issue("Crashy", ONE)
    crashed = False
    for _ in range(10):  # cycles until the fault point is reached once
        out = p.cli("cycle", "--json", check=False, env={**os.environ, "SHIFTCTL_FAULT": fault})
        if out.returncode == 86:
            crashed = True
            break
        assert out.returncode == 0, out.stderr
    assert crashed, f"{fault} was never reached"
    p.run()
    assert p.issue_state(n) == "done"
    firsts = [c["body"].splitlines()[0] for c in p.issue(n)["comments"]]
    assert len(firsts) == len(set(firsts)), firsts
    assert len(p.prs()) == 1


def test_a_spent_quota_makes_the_loop_sleep_until_the_reset(gh_project: GithubProject) -> None:
    p = gh_project
    p.cycle()
    quota = p.gh.fake.quota("shiftbot")
    quota.used, quota.reset_at = quota.limit, time.time() + 900
    p.gh.world.comment(p.file_issue("News", ONE, labels=("bug",)), "hi", "alice")
    result = p.cycle()
    assert result.rung == "health" and 800 < result.sleep_s <= 905
    assert "rate-limited" in p.cli("status").stdout
    mark = p.gh.fake.mark()
    assert p.cycle().sleep_s > 800  # and it does not keep knocking
    assert len(p.gh.fake.since(mark)) <= 1


def test_a_nap_checks_github_conditionally_and_wakes_for_a_critical_issue(
        gh_project: GithubProject) -> None:
    from shiftctl.admin.cycle.nap import nap
    p = gh_project
    p.configure(sleep={"idle": 60, "after_action": 0, "busy": 2, "wake_check": 0.2})
    p.run()
    mark = p.gh.fake.mark()
    assert nap(p.config, 1.5, tick=0.05) == "time"
    checks = p.gh.fake.since(mark)
    assert len(checks) >= 3 and all(c.status == 304 for c in checks[1:])
    p.file_issue("Fire", ONE, labels=("shiftctl", "priority:critical"), author="mallory")
    assert nap(p.config, 1.0, tick=0.05) == "time"  # not from an allowed author
    p.file_issue("Fire!", ONE, labels=("shiftctl", "priority:critical"))
    assert nap(p.config, 5, tick=0.05) == "critical"
