"""What a person's retry grants, and the markers that tell rounds apart. Pure."""
from __future__ import annotations

from shiftctl.admin.cycle.outcomes import after_run, retry_grant
from shiftctl.admin.tracker import markers
from shiftctl.memory.store import Task


def test_a_retry_after_the_attempts_ran_out_grants_a_round_from_where_it_stands() -> None:
    g = retry_grant("needs_human", attempts=3, floor=0, max_attempts=3)
    assert (g.attempt_floor, g.granted, g.left) == (3, 3, 3)
    task = Task(id=1, issue=1, key="t1", title="t", state="ready", attempts=5, attempt_floor=3)
    assert task.round_attempts == 2
    step = after_run("failed", attempts=task.round_attempts, max_attempts=3, now=0)
    assert step.state == "retry"  # 2 of 3 in this round, whatever was spent before
    again = retry_grant("needs_human", attempts=6, floor=3, max_attempts=3)
    assert (again.attempt_floor, again.granted) == (6, 3)


def test_a_retry_during_the_backoff_grants_nothing_and_resets_nothing() -> None:
    g = retry_grant("retry", attempts=1, floor=0, max_attempts=2)
    assert (g.attempt_floor, g.granted, g.left) == (0, 0, 1)
    assert "grants none" in g.note
    later = retry_grant("retry", attempts=5, floor=3, max_attempts=3)
    assert (later.attempt_floor, later.left) == (3, 1)


def test_runs_that_spend_no_attempt_get_their_own_marker_and_keep_it() -> None:
    first = markers.run_key("t1", 1, "1-t1-a1-aaaaaa")
    second = markers.run_key("t1", 1, "1-t1-a1-bbbbbb")
    assert first != second
    assert first == markers.run_key("t1", 1, "1-t1-a1-aaaaaa")  # a re-collect finds it
    found = markers.find(markers.marker("question", 4, second))
    assert found == ("question", 4, second)
