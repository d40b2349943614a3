"""Why an issue is not intake, in words, from plain data (the tracker answers only who is
allowed and who added a label)."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin.config import parse
from shiftctl.admin.tracker.base import TrackerIssue
from shiftctl.admin.tracker.sync import not_intent_reason, worth_reporting

CFG = parse({"tracker": {"kind": "local", "allowed_authors": ["alice"]}}, Path("/r"))


class People:
    """What a tracker says about people: alice is allowed; ``labeller`` added the label."""

    def __init__(self, labeller: str | None = None) -> None:
        self.labeller = labeller
        self.asked: list[str] = []

    def is_allowed(self, who: str) -> bool:
        self.asked.append(who)
        return who == "alice"

    def label_actor(self, number: int, label: str) -> str | None:
        return self.labeller


def issue(author: str = "alice", labels: tuple[str, ...] = ("shiftctl",),
          state: str = "open") -> TrackerIssue:
    return TrackerIssue(number=1, title="t", body="", author=author, labels=list(labels),
                        state=state)


def test_each_reason_an_issue_is_not_intake_is_named() -> None:
    assert not_intent_reason(CFG, People(), issue()) is None
    assert not_intent_reason(CFG, People(), issue(state="closed")) == "closed"
    people = People()
    assert not_intent_reason(CFG, people, issue(labels=("bug",))) == \
        "no intake label `shiftctl`"
    assert people.asked == []  # no question about people for an issue that never asked
    assert not_intent_reason(CFG, People(), issue(author="me")) == (
        "its author 'me' is not an allowed author (tracker.allowed_authors: alice)")
    assert "the intake label was added by 'mallory'" in str(not_intent_reason(
        CFG, People(labeller="mallory"), issue()))


def test_only_issues_that_asked_are_worth_listing_on_github() -> None:
    gh = parse({"tracker": {"kind": "github", "github": {"repo": "o/r"}}}, Path("/r"))
    assert not worth_reporting(gh, issue(labels=("bug",)), "no intake label `shiftctl`")
    assert worth_reporting(gh, issue(author="x"), "its author 'x' is not an allowed author")
    assert worth_reporting(CFG, issue(labels=()), "no intake label `shiftctl`")
    assert not worth_reporting(CFG, issue(state="closed"), "closed")
