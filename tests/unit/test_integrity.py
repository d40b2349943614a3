"""The integration branch against shiftctl's record: the comparison is pure."""
from __future__ import annotations

from shiftctl.admin.review.integrity import (
    BEHIND,
    MISSING,
    MOVED,
    OK,
    UNRECORDED,
    compare,
)

H, P, X = "h" * 40, "p" * 40, "x" * 40  # recorded head, the head before it, anything else


def test_the_ref_is_trusted_only_at_the_recorded_head() -> None:
    assert compare(H, P, H).state == OK and compare(H, P, H).trusted
    moved = compare(H, P, X)
    assert moved.state == MOVED and not moved.trusted
    assert (moved.expected, moved.found) == (H, X)


def test_the_head_before_the_last_recorded_merge_is_a_crash_to_catch_up() -> None:
    assert compare(H, P, P).state == BEHIND and compare(H, P, P).trusted
    assert compare(H, None, P).state == MOVED  # no merge recorded: nothing to catch up to


def test_a_missing_ref_is_rebuilt_and_nothing_recorded_is_a_start() -> None:
    assert compare(H, P, None).state == MISSING
    assert compare(None, None, None).state == UNRECORDED
    assert compare(None, None, X).state == UNRECORDED  # adopted (a state db from before)
