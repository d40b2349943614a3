"""Is the integration branch where shiftctl left it? Pure: SHAs in, a verdict out.

shiftctl records the integration head in the same transaction as each merge and moves the
ref only afterwards. Before every merge, push and "ready" the ref is compared with that
record; anything an agent (or anyone) did to the ref shows up here.
"""
from __future__ import annotations

from dataclasses import dataclass

OK = "ok"                  # the ref is at the recorded head
UNRECORDED = "unrecorded"  # nothing recorded yet: the branch is about to be started
MISSING = "missing"        # the ref is gone: rebuild it from the record
BEHIND = "behind"          # the ref is at the head before the last recorded merge: a cycle
                           # died between recording the merge and moving the ref
MOVED = "moved"            # the ref is anywhere else: not shiftctl's work, not trusted


@dataclass(frozen=True)
class RefCheck:
    state: str
    expected: str | None
    found: str | None

    @property
    def trusted(self) -> bool:
        return self.state in (OK, UNRECORDED, MISSING, BEHIND)


def compare(recorded: str | None, previous: str | None, found: str | None) -> RefCheck:
    """``recorded``: the head shiftctl last recorded; ``previous``: the head the last recorded
    merge was made onto; ``found``: where the ref is now (None: it does not exist)."""
    if recorded is None:
        return RefCheck(UNRECORDED, None, found)
    if found == recorded:
        return RefCheck(OK, recorded, found)
    if found is None:
        return RefCheck(MISSING, recorded, None)
    if previous is not None and found == previous:
        return RefCheck(BEHIND, recorded, found)
    return RefCheck(MOVED, recorded, found)
