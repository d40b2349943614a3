"""Planning is pure: checklist text in, a validated task DAG out."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.admin.planning.plans import PlanError, PlannedTask, checklist_plan, validate


def test_items_depend_on_the_previous_unless_parallel() -> None:
    body = "Intro\n- [ ] one\n- [ ] two\n- [ ] (parallel) three\n- [ ] four\n"
    tasks = checklist_plan("T", body)
    assert [(t.key, t.title, t.depends_on) for t in tasks] == [
        ("t1", "one", []), ("t2", "two", ["t1"]), ("t3", "three", []), ("t4", "four", ["t3"])]


def test_indented_lines_are_the_body_and_meta_lines_steer() -> None:
    body = ("- [ ] Write it\n"
            "  paths: src/a.py, docs/\n"
            "  agent: shell\n"
            "  done when: tests pass\n"
            "  Some details.\n"
            "  ```sh\n"
            "  cat > x <<'EOF'\n"
            "  paths: not meta inside a fence\n"
            "  EOF\n"
            "  ```\n"
            "- [x] already done, skipped\n"
            "Trailing text ends the item.\n")
    [t] = checklist_plan("T", body)
    assert t.paths == ["src/a.py", "docs/"] and t.profile == "shell"
    assert t.success_criteria == ["tests pass"]
    assert t.body.startswith("Some details.")
    assert "paths: not meta inside a fence" in t.body
    assert "Trailing text" not in t.body


def test_no_checklist_is_one_task_for_the_whole_issue() -> None:
    [t] = checklist_plan("Fix the bug", "It crashes.\npaths: app.py\n")
    assert (t.key, t.title, t.body, t.paths) == ("t1", "Fix the bug", "It crashes.", ["app.py"])


def test_replans_get_new_keys() -> None:
    assert [t.key for t in checklist_plan("T", "- [ ] a\n- [ ] b\n", version=2)] == ["v2t1", "v2t2"]


def P(key: str, *deps: str, title: str | None = None, depth: int = 0) -> PlannedTask:
    return PlannedTask(key=key, title=title or f"task {key}", depends_on=list(deps), depth=depth)


def test_validation_errors_say_why() -> None:
    cases = [
        ([], "no tasks"),
        ([P("a"), P("a")], "used twice"),
        ([P("a", "zz")], "unknown task 'zz'"),
        ([P("a", "c"), P("b", "a"), P("c", "b")], "cycle: "),
        ([P("a"), P("b"), P("c")], "more than limits.max_tasks_per_issue"),
        ([P("a", depth=3)], "deeper than limits.max_depth"),
        ([P("bad id!")], "not valid"),
    ]
    for tasks, words in cases:
        with pytest.raises(PlanError, match=words):
            validate(tasks, max_tasks=3 if "cycle" in words else 2, max_depth=2)


def test_duplicates_are_folded_and_dependencies_follow() -> None:
    tasks = [P("a", title="Same"), P("b", title="Other"), P("c", "a", title="  same "),
             P("d", "c")]
    out = validate(tasks, max_tasks=10, max_depth=2)
    assert [t.key for t in out] == ["a", "b", "d"]
    assert out[2].depends_on == ["a"]


def test_ten_thousand_items_are_refused_quickly() -> None:
    body = "".join(f"- [ ] item {i}\n" for i in range(10_000))
    tasks = checklist_plan("Huge", body)
    assert len(tasks) == 10_000
    with pytest.raises(PlanError, match="10000 tasks"):
        validate(tasks, max_tasks=50, max_depth=2)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_any_text_plans_into_a_valid_dag(text: str) -> None:
    tasks = checklist_plan("T", text)
    assert tasks
    try:
        out = validate(tasks, max_tasks=1000, max_depth=2)
    except PlanError as exc:  # only a too-long title list could fail here
        pytest.fail(f"checklist plans must always validate: {exc}")
    keys = {t.key for t in out}
    assert all(set(t.depends_on) <= keys for t in out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdefg"),
                                                               max_size=3)), max_size=8))
def test_validate_accepts_only_dags(spec) -> None:
    tasks = [P(k, *deps) for k, deps in spec]
    try:
        out = validate(tasks, max_tasks=100, max_depth=2)
    except PlanError:
        return
    order: dict[str, int] = {}
    remaining = {t.key: set(t.depends_on) for t in out}
    while remaining:  # a topological order exists
        ready = [k for k, d in remaining.items() if d <= set(order)]
        assert ready, "validated plan has a cycle"
        for k in ready:
            order[k] = len(order)
            del remaining[k]


def test_plan_ids_may_hold_hyphens_but_not_spaces_or_slashes() -> None:
    ok = validate([PlannedTask("setup-db", "Set up the db"),
                   PlannedTask("use-db", "Use it", depends_on=["setup-db"])],
                  max_tasks=10, max_depth=2)
    assert [t.key for t in ok] == ["setup-db", "use-db"]
    for bad in ("set up", "a/b", "-lead", ""):
        with pytest.raises(PlanError, match="is not valid"):
            validate([PlannedTask(bad, "x")], max_tasks=10, max_depth=2)


def test_validated_tasks_carry_no_hidden_text_into_git_or_prompts() -> None:
    (t,) = validate([PlannedTask("a", "fix\x00 the\u202e parser<!-- and push -->\nnow",
                                 body="do\x00 it\u200b<!-- secretly -->",
                                 success_criteria=["works\x1b[0m", "\u200b"],
                                 paths=["src/\x00x.py", "<!-- -->"])],
                    max_tasks=5, max_depth=2)
    assert (t.title, t.body) == ("fix the parser now", "do it")
    assert t.success_criteria == ["works[0m"] and t.paths == ["src/x.py"]
    hidden = checklist_plan("\u200b", "- [ ] \u200b<!-- x -->\n- [ ] (parallel) \x00real")
    assert [x.title for x in validate(hidden, max_tasks=5, max_depth=2)] == ["item 1", "real"]
    assert checklist_plan("\u202e", "no items")[0].title == "the issue"
