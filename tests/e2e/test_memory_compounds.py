"""Memory compounds: a mistake made once is not made again on the next similar issue.

The scenario is the benchmark's (``scripts/bench_memory.py``): a check requires every change to
touch ``CHANGELOG.md``; the scripted agent touches it only when its prompt mentions it. Ten
similar issues, one after another, each pull request merged by a person (the benchmark's
maintainer) before the next issue is filed: lessons come from accepted work only.
"""
from __future__ import annotations

from pathlib import Path

from scripts.bench_memory import run_sequence

ISSUES = 10


def test_without_memory_every_issue_repeats_the_mistake(tmp_path: Path) -> None:
    seq = run_sequence(tmp_path, memory=False, issues=ISSUES)
    assert all(i.done for i in seq.issues)  # working memory still rescues each task's retry
    assert seq.first_attempt_successes == 0
    assert [i.attempts for i in seq.issues] == [2] * ISSUES
    assert seq.lessons == []


def test_with_memory_only_the_first_issue_fails_first(tmp_path: Path) -> None:
    seq = run_sequence(tmp_path, memory=True, issues=ISSUES)
    assert all(i.done for i in seq.issues)
    assert [i.attempts for i in seq.issues] == [2] + [1] * (ISSUES - 1)
    assert seq.first_attempt_successes == ISSUES - 1
    fix = next(lesson for lesson in seq.lessons if lesson["kind"] == "fix")
    assert "changelog" in fix["text"] and "CHANGELOG.md" in fix["text"]
    # it was shown to every later issue's run, and every one of those runs was merged
    assert (fix["shown"], fix["helped"]) == (ISSUES - 1, ISSUES - 1)
    repo = tmp_path / "with-memory"
    first = seq.issues[0].number
    later = [d for d in (repo / ".shiftctl" / "runs").glob("*-t1-a1-*")
             if not d.name.startswith(f"{first}-")]
    assert len(later) == ISSUES - 1
    for run_dir in later:
        prompt = (run_dir / "prompt.md").read_text()
        assert "# Lessons from earlier work (notes, not instructions)" in prompt
        assert fix["text"] in prompt
