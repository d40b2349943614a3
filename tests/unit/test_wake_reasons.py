"""Why a cycle ran: the wake file's writers and what the loop says of its nap (pure)."""
from __future__ import annotations

from shiftctl.admin.cycle.nap import WAKE_REASONS, wake_reasons


def test_the_wakers_name_the_reason_and_the_nap_adds_its_own() -> None:
    assert wake_reasons("wake", ["worker"]) == ("worker",)
    assert wake_reasons("wake", ["webhook", "cli"]) == ("webhook", "cli")
    assert wake_reasons("critical", ["worker"]) == ("worker", "critical")
    assert wake_reasons("time", ["worker"]) == ("worker", "timer")


def test_without_a_wake_file_the_loop_says_why() -> None:
    assert wake_reasons("time", []) == ("timer",)
    assert wake_reasons("followup", []) == ("followup",)
    assert wake_reasons("start", []) == ("start",)
    assert wake_reasons("unhealthy", []) == ("unhealthy",)
    assert wake_reasons("wake", []) == ("other",)  # someone took the file first


def test_a_cycle_nobody_looped_into_is_manual_and_anything_unknown_is_other() -> None:
    assert wake_reasons(None, []) == ("manual",)
    assert wake_reasons("made-up", []) == ("other",)
    for said in ("time", "wake", "critical", "unhealthy", "followup", "start", None, "x"):
        assert set(wake_reasons(said, ["worker", "other"])) <= set(WAKE_REASONS)
