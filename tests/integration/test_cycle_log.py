"""A failed cycle or action leaves its whole traceback in .shiftctl/logs/shiftctl.log."""
from __future__ import annotations

import pytest

from shiftctl.admin.cycle import executor

from support.project import Project


def log_text(project: Project) -> str:
    return (project.root / ".shiftctl" / "logs" / "shiftctl.log").read_text()


def test_a_failed_cycle_logs_its_traceback(project: Project) -> None:
    project.cycle()
    (project.root / ".shiftctl" / "state.db").write_bytes(b"not a database" * 500)
    result = project.cycle()
    assert result.rung == "error" and "Traceback" not in " ".join(result.errors)
    text = log_text(project)
    assert "ERROR shiftctl.cycle" in text and "cycle failed" in text
    assert "Traceback (most recent call last)" in text


def test_a_failed_action_logs_its_traceback_and_the_cycle_goes_on(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(rt, action):  # type: ignore[no-untyped-def]
        raise RuntimeError("the planner broke")
    monkeypatch.setitem(executor.BUILTIN, "plan", broken)
    project.file_issue("one", "- [ ] a\n")
    result = project.cycle()
    assert any("the planner broke" in e for e in result.errors)
    text = log_text(project)
    assert "action plan" in text and "RuntimeError: the planner broke" in text
    assert 'in broken' in text  # the traceback reaches into the failing code


def test_an_idle_cycle_writes_no_log(project: Project) -> None:
    project.cycle()
    project.cycle()
    assert not (project.root / ".shiftctl" / "logs" / "shiftctl.log").exists()
