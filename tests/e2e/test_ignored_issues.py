"""Nothing is ignored silently: an issue that is not intake (its author, its label, who
labelled it) is listed by ``status`` with the reason and recorded once as an event; and a
first run with ``$USER`` unset files issues that ``init``'s allowed authors accept."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from support.github import GithubProject
from support.project import Project
from support.repos import make_repo
from support.serve import Served


def _ignored_events(p: Project) -> list[dict]:
    s = p.store()
    try:
        rows = s.conn.execute("SELECT issue, data FROM events WHERE kind = 'issue.ignored' "
                              "ORDER BY id").fetchall()
    finally:
        s.close()
    return [{"issue": r[0], **json.loads(r[1])} for r in rows]


def _status(p: Project) -> tuple[dict, str]:
    return p.cli_json("status"), p.cli("status").stdout


def test_a_wrong_author_or_a_missing_label_is_listed_with_its_reason_once(
        project: Project) -> None:
    p = project
    stranger = p.file_issue("From a stranger", "- [ ] x\n", author="mallory")
    unlabelled = p.file_issue("Forgot the label", "- [ ] y\n", labels=("bug",))
    p.cycle()
    p.cycle()
    data, text = _status(p)
    reasons = {i["number"]: i["reason"] for i in data["ignored"]}
    assert "its author 'mallory' is not an allowed author" in reasons[stranger]
    assert "tracker.allowed_authors: alice" in reasons[stranger]
    assert reasons[unlabelled] == "no intake label `shiftctl`"
    assert f"#{stranger:<4} ignored: its author 'mallory'" in text
    assert "No issues yet" not in text
    assert sorted(e["issue"] for e in _ignored_events(p)) == [stranger, unlabelled]
    t = p.tracker()  # the person fixes it: the issue is taken up and leaves the list
    try:
        t.set_labels(unlabelled, add=("shiftctl",))
    finally:
        t.close()
    p.cycle()
    data, _ = _status(p)
    assert [i["number"] for i in data["ignored"]] == [stranger]
    assert p.issue_state(unlabelled) in ("new", "planned", "active")
    assert len(_ignored_events(p)) == 2


def test_an_intake_label_added_by_someone_not_allowed_is_listed_on_github(
        gh_project: GithubProject) -> None:
    p, world = gh_project, gh_project.gh.world
    n = p.file_issue("Labelled by a reader", "- [ ] z\n", labels=())
    world.add_labels(n, ["shiftctl"], "mallory")
    unrelated = p.file_issue("Not for shiftctl", "", labels=("bug",))
    p.cycle()
    data, _ = _status(p)
    reasons = {i["number"]: i["reason"] for i in data["ignored"]}
    assert "the intake label was added by 'mallory'" in reasons[n]
    assert unrelated not in reasons  # a GitHub issue that never asked is not news
    assert [e["issue"] for e in _ignored_events(p)] == [n]


def test_with_user_unset_init_and_issue_new_agree_on_who_you_are(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    p = Project(root)
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME")}
    p.cli("init", env=env)
    doctor = p.cli("doctor", "--json", env=env, check=False)
    found = {f["name"]: f for f in json.loads(doctor.stdout)}
    assert found["allowed authors"]["ok"], found["allowed authors"]
    n = json.loads(p.cli("issue", "new", "Add a thing", "--label", "shiftctl", "--json",
                         env=env).stdout)["number"]
    p.cycle()
    data = p.cli_json("status")
    assert data["ignored"] == []
    assert [i["number"] for i in data["issues"]] == [n]


def test_doctor_warns_when_allowed_authors_cannot_match_you(project: Project) -> None:
    env = dict(os.environ, USER="bob")
    doctor = project.cli("doctor", "--json", env=env, check=False)
    found = {f["name"]: f for f in json.loads(doctor.stdout)}
    assert not found["allowed authors"]["ok"] and not found["allowed authors"]["required"]
    assert "does not include 'bob'" in found["allowed authors"]["detail"]


def test_the_dashboard_lists_ignored_issues_too(project: Project,
                                                serve: Callable[..., Served]) -> None:
    n = project.file_issue("From a stranger", "- [ ] x\n", author="mallory")
    project.cycle()
    page = serve(project.root).request("/").text
    assert f"#{n} From a stranger: ignored: its author &#39;mallory&#39;" in page \
        or f"#{n} From a stranger: ignored: its author 'mallory'" in page
