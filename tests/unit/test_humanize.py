"""Numbers as people read them: costs keep their digits, cut lines say they were cut."""
from __future__ import annotations

import pytest

from shiftctl.admin.humanize import clip, duration, money, tokens, usage


@pytest.mark.parametrize("usd, shown", [
    (0, "$0.00"), (0.005, "$0.005"), (0.00123, "$0.00123"), (0.0149, "$0.0149"),
    (0.042, "$0.042"), (0.5, "$0.50"), (1.5, "$1.50"), (1234.5, "$1,234.50"),
    (float("nan"), "$0.00"), (-1, "$0.00"), (1e-9, "<$0.000001")])
def test_costs_keep_three_significant_digits_below_a_dollar(usd: float, shown: str) -> None:
    assert money(usd) == shown


def test_a_cut_line_ends_with_an_ellipsis_and_keeps_its_width() -> None:
    long = "x" * 300
    assert clip(long, 200) == "x" * 199 + "…" and len(clip(long, 200)) == 200
    assert clip("short", 200) == "short"


def test_tokens_turns_and_durations_read_short() -> None:
    assert [tokens(n) for n in (950, 12_345, 4_560_000)] == ["950", "12.3k", "4.56M"]
    assert usage(12_345, 1_200, 7, 0.042) == "12.3k in / 1.2k out tokens, 7 turns, $0.042"
    assert [duration(s) for s in (0.4, 45, 125, 3725)] == ["0.4s", "45s", "2m05s", "1h02m"]
