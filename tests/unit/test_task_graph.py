"""The issue page's task graph: columns by dependency depth (pure)."""
from __future__ import annotations

from shiftctl.admin.serve.views import levels
from shiftctl.memory.store import Task


def task(key: str, *deps: str) -> Task:
    return Task(id=0, issue=1, key=key, title=key, state="pending", depends_on=list(deps))


def keys(columns: list[list[Task]]) -> list[list[str]]:
    return [[t.key for t in col] for col in columns]


def test_a_task_sits_one_column_right_of_its_latest_dependency() -> None:
    tasks = [task("t1"), task("t2", "t1"), task("t3"), task("t4", "t2", "t3"),
             task("t5", "gone")]
    assert keys(levels(tasks)) == [["t1", "t3", "t5"], ["t2"], ["t4"]]
    assert levels([]) == []


def test_a_long_chain_and_a_cycle_do_not_break_it() -> None:
    chain = [task("t0")] + [task(f"t{i}", f"t{i - 1}") for i in range(1, 5000)]
    assert len(levels(chain)) == 5000
    looped = [task("a", "b"), task("b", "a"), task("c", "b")]
    assert sorted(k for col in keys(levels(looped)) for k in col) == ["a", "b", "c"]
