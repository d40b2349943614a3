"""The ``shiftctl`` executable's front door (docs/design.md §14).

The loop starts ``shiftctl cycle`` and ``shiftctl nap`` once per cycle, every cycle, idle or
not: their start-up is most of what an idle cycle costs. So those two exact command lines are
parsed here by hand and run without importing click or any other command; everything else,
including any spelling of them this parser does not recognise (``--help``, a typo), goes to the
click command line, which is the reference and says what is wrong.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shiftctl.admin.cycle import LOOP_SAID

if TYPE_CHECKING:
    from shiftctl.admin.config import Config


@dataclass(frozen=True)
class Hot:
    """A recognised hot command line."""
    command: str                 # cycle | nap
    directory: Path | None = None
    as_json: bool = False        # cycle --json
    woke: str | None = None      # cycle --woke WHAT
    seconds: float = 0.0         # nap SECONDS


def parse_hot(argv: Sequence[str]) -> Hot | None:
    """``[-C DIR] cycle [--json] [--woke WHAT]`` or ``[-C DIR] nap SECONDS``; None for
    anything else. Pure."""
    args = list(argv)
    directory = None
    if len(args) >= 2 and args[0] == "-C":
        directory, args = Path(args[1]), args[2:]
    if not args:
        return None
    if args[0] == "nap" and len(args) == 2:
        try:
            seconds = float(args[1])
        except ValueError:
            return None
        return Hot("nap", directory, seconds=seconds)
    if args[0] != "cycle":
        return None
    as_json, woke, rest = False, None, args[1:]
    while rest:
        if rest[0] == "--json":
            as_json, rest = True, rest[1:]
        elif rest[0] == "--woke" and len(rest) >= 2 and rest[1] in LOOP_SAID:
            woke, rest = rest[1], rest[2:]
        else:
            return None
    return Hot("cycle", directory, as_json=as_json, woke=woke)


def run_cycle_command(config: Config, *, as_json: bool, woke: str | None,
                      out: Callable[[str], None], err: Callable[[str], None]) -> int:
    """One cycle, reported as ``shiftctl cycle`` reports it; the exit code (1: the cycle
    failed, so the loop script backs off). Shared by this path and the click command."""
    from shiftctl.admin.cycle.main import run_cycle
    result = run_cycle(config, woke=woke)
    if as_json:
        out(json.dumps(result.to_json()))
    else:
        out(f"cycle {result.cycle}: {result.rung}; sleep {result.sleep_s:g}s")
        for a in result.actions:
            out(f"  {a}")
    for e in result.errors:
        err(f"error: {e}")
    return 1 if result.rung == "error" else 0


def run_nap_command(config: Config, seconds: float, *, out: Callable[[str], None]) -> int:
    from shiftctl.admin.cycle.nap import nap
    out(nap(config, seconds))
    return 0


def _echo(stream: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        print(line, file=stream, flush=True)
    return write


def run_hot(hot: Hot) -> int:
    """Run a hot command; errors as click would show them (``Error: ...``, exit 1)."""
    import sqlite3

    from shiftctl.admin import config as config_mod
    from shiftctl.memory.db import StateError
    out, err = _echo(sys.stdout), _echo(sys.stderr)
    try:
        config = config_mod.load(hot.directory or Path.cwd())
    except config_mod.ConfigError as exc:
        err(f"Error: {exc}")
        return 1
    try:
        if hot.command == "nap":
            return run_nap_command(config, hot.seconds, out=out)
        return run_cycle_command(config, as_json=hot.as_json, woke=hot.woke, out=out, err=err)
    except (StateError, sqlite3.DatabaseError) as exc:
        from shiftctl.admin.paths import Paths
        from shiftctl.admin.statedb import describe_error, unusable
        if not (unusable(exc) or isinstance(exc, StateError)):
            raise
        err(f"Error: {describe_error(Paths(config.root), exc)}")
        return 1


def main(argv: Sequence[str] | None = None) -> None:
    hot = parse_hot(sys.argv[1:] if argv is None else argv)
    if hot is not None:
        sys.exit(run_hot(hot))
    from shiftctl.admin.cli.main import main as full
    full()
