"""``shiftctl audit verify`` after the real loop wrote the log, against a writer of state.db
without the key: a rewrite with the hash chain recomputed, a truncation, both; and the loop
running on afterwards never erases what it found."""
from __future__ import annotations

import json
from typing import Any

from shiftctl.admin.audit import anchor
from shiftctl.admin.paths import Paths

from support.forgery import forge
from support.project import Project

ONE = "- [ ] a\n  ```sh\n  echo a > a.txt\n  ```\n"


def finished(project: Project) -> int:
    """A finished issue: the loop wrote (and anchored) a few dozen events."""
    project.file_issue("Something", ONE)
    project.run()
    found = anchor.read(Paths(project.root))
    assert found is not None and found.anchor is not None
    return found.anchor.event


def verdict(project: Project) -> tuple[int, dict[str, Any]]:
    out = project.cli("audit", "verify", "--json", check=False)
    return out.returncode, json.loads(out.stdout)


def test_an_untouched_log_is_intact_in_words_and_in_json(project: Project) -> None:
    last = finished(project)
    out = project.cli("audit", "verify")
    assert out.stdout.startswith(f"ok: intact: {last} events")
    code, data = verdict(project)
    assert code == 0 and data["status"] == "intact" and data["ok"] is True
    assert data["verified"] == last and data["anchor"]["event"] == last
    assert data["problems"] == [] and data["key_present"] is True


def test_a_rewrite_with_the_chain_recomputed_is_named(project: Project) -> None:
    finished(project)
    forge(project.root / ".shiftctl" / "state.db", edit=5)
    out = project.cli("audit", "verify", check=False)
    assert out.returncode == 1 and "FAIL: rewritten at event 5" in out.stderr
    code, data = verdict(project)
    assert code == 1 and data["status"] == "rewritten" and data["problems"][0]["event"] == 5


def test_a_truncation_is_named_with_the_anchor_and_the_end_of_the_log(project: Project) -> None:
    last = finished(project)
    forge(project.root / ".shiftctl" / "state.db", drop=4)
    out = project.cli("audit", "verify", check=False)
    assert out.returncode == 1
    assert (f"FAIL: truncated: anchor at event {last}, the log ends at event {last - 4}"
            in out.stderr)
    code, data = verdict(project)
    assert code == 1 and data["status"] == "truncated" and data["last_event"] == last - 4


def test_a_rewrite_and_a_truncation_together_both_fail(project: Project) -> None:
    last = finished(project)
    forge(project.root / ".shiftctl" / "state.db", edit=3, drop=2)
    code, data = verdict(project)
    kinds = {(p["kind"], p["event"]) for p in data["problems"]}
    assert code == 1 and ("rewritten", 3) in kinds and ("truncated", last) in kinds


def test_the_loop_running_on_keeps_the_evidence_until_a_person_accepts_it(
        project: Project) -> None:
    last = finished(project)
    forge(project.root / ".shiftctl" / "state.db", drop=3)
    n = project.file_issue("More work", "- [ ] b\n  ```sh\n  echo b > b.txt\n  ```\n")
    project.run()  # dozens of new events reuse the ids that were cut
    assert project.issue_state(n) == "done"
    code, data = verdict(project)
    assert code == 1 and data["status"] == "truncated"
    assert f"events {last - 2}..{last} were deleted" in data["summary"]
    assert data["anchor"]["event"] > last  # moved on: the new events are protected
    accepted = project.cli("audit", "accept")
    assert f"events {last - 2}..{last} were deleted" in accepted.stdout
    code, data = verdict(project)
    assert code == 0 and any("accepted by alice" in n for n in data["notes"])


def test_memory_add_signs_its_events_and_moves_the_anchor(project: Project) -> None:
    last = finished(project)
    project.cli("memory", "add", "Run the linter before committing.")
    found = anchor.read(Paths(project.root))
    assert found is not None and found.anchor is not None and found.anchor.event > last
    code, data = verdict(project)
    assert code == 0 and data["verified"] == found.anchor.event
    forge(project.root / ".shiftctl" / "state.db", drop=1)  # the lesson's events count too
    assert verdict(project)[1]["status"] == "truncated"
