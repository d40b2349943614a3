"""Why ``run --until-idle`` returned, as an exit code a script can branch on, and a line
that says it (docs/cli.md "Exit codes").

0: nothing is left; 3: work waits for a person (an approval, a question, a failed task);
4: the kill switch is on; 1: the cycles kept failing.
"""
from __future__ import annotations

from dataclasses import dataclass

from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.memory.db import StateMissing
from shiftctl.memory.store import Store

DONE = 0
FAILED = 1
WAITING = 3
STOPPED = 4


@dataclass(frozen=True)
class Verdict:
    code: int
    message: str


def waiting_for_people(store: Store) -> list[str]:
    """What a person must act on, one phrase each (issue by issue)."""
    out = []
    for issue in store.issues(("planned", "needs_human", "active", "done")):
        if issue.state == "planned" and not issue.approved:
            out.append(f"#{issue.number} waits for approval (shiftctl approve {issue.number})")
            continue
        stuck = [t.ref for t in store.tasks(issue=issue.number, states=("needs_human",))]
        if stuck:
            out.append(f"#{issue.number}: {', '.join(stuck)} need(s) a person "
                       f"(shiftctl retry {stuck[0]}, or answer on the issue)")
        elif issue.state == "needs_human":
            out.append(f"#{issue.number} needs a person: {issue.reason or 'see its comments'}")
    return out


def judge(*, stopped: bool, failed: bool, waiting: list[str]) -> Verdict:
    if stopped:
        return Verdict(STOPPED, "stopped: the kill switch is on, nothing is dispatched "
                                "(shiftctl start to release it)")
    if failed:
        return Verdict(FAILED, "stopped: the cycles keep failing (see the errors above)")
    if waiting:
        return Verdict(WAITING, "idle, waiting for a person: " + "; ".join(waiting))
    return Verdict(DONE, "idle: nothing left to do")


def verdict(paths: Paths, *, failed: bool) -> Verdict:
    """How the loop ended, read from the state the last cycle left."""
    try:
        store = open_reader(paths)
    except StateMissing:
        waiting: list[str] = []
    else:
        try:
            waiting = waiting_for_people(store)
        finally:
            store.close()
    return judge(stopped=paths.stop.exists(), failed=failed, waiting=waiting)
