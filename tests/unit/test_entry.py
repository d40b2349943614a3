"""The executable's front door: the loop's two hot command lines, recognised exactly."""
from __future__ import annotations

from pathlib import Path

import pytest

from shiftctl.admin.cli.entry import Hot, parse_hot


@pytest.mark.parametrize(("argv", "hot"), [
    (["cycle"], Hot("cycle")),
    (["cycle", "--json"], Hot("cycle", as_json=True)),
    (["cycle", "--json", "--woke", "followup"], Hot("cycle", as_json=True, woke="followup")),
    (["cycle", "--woke", "time", "--json"], Hot("cycle", as_json=True, woke="time")),
    (["-C", "/r", "cycle"], Hot("cycle", directory=Path("/r"))),
    (["nap", "30"], Hot("nap", seconds=30.0)),
    (["-C", "/r", "nap", "0.5"], Hot("nap", directory=Path("/r"), seconds=0.5)),
])
def test_the_loops_command_lines_take_the_fast_path(argv: list[str], hot: Hot) -> None:
    assert parse_hot(argv) == hot


@pytest.mark.parametrize("argv", [
    [], ["status"], ["cycle", "--help"], ["cycle", "--woke"], ["cycle", "--woke", "nonsense"],
    ["cycle", "--jsn"], ["cycle", "extra"], ["nap"], ["nap", "soon"], ["nap", "1", "2"],
    ["-C"], ["-C", "/r"], ["--version"], ["-C", "/r", "status"],
])
def test_anything_else_goes_to_the_full_command_line(argv: list[str]) -> None:
    """The click CLI is the reference: it answers --help and says what is wrong."""
    assert parse_hot(argv) is None
