"""Reading an agent planner's plan and a reviewer's verdict (admin/answers.py), with plain
text: what is accepted, what is refused, and that every refusal says which field is wrong."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.admin.planning.answers import AnswerError, json_answer, plan_tasks, rekey, verdict
from shiftctl.admin.planning.plans import PlannedTask

PLAN = {"tasks": [{"id": "a", "title": "Add the parser", "body": "in parse.py",
                   "success_criteria": ["tests pass"], "paths": ["parse.py"]},
                  {"id": "b", "title": "Use it", "depends_on": ["a"], "agent": "claude"}]}

# --- finding the JSON in an answer ------------------------------------------------------------


def test_a_json_fence_is_the_answer() -> None:
    text = f"Here is my plan.\n\n```json\n{json.dumps(PLAN, indent=2)}\n```\n\nGood luck."
    assert json_answer(text) == PLAN


def test_a_bare_fence_is_the_answer() -> None:
    assert json_answer('Verdict:\n```\n{"pass": true}\n```\n') == {"pass": True}


def test_a_tilde_fence_and_indentation_are_accepted() -> None:
    assert json_answer('  ~~~json\n  {"pass": false, "findings": ["x"]}\n  ~~~\n') == \
        {"pass": False, "findings": ["x"]}


def test_a_whole_answer_that_is_json_is_the_answer() -> None:
    assert json_answer(json.dumps(PLAN)) == PLAN


def test_prose_around_a_bare_object_is_skipped() -> None:
    text = 'I looked at the diff. {"pass": true, "findings": []} That is all.'
    assert json_answer(text) == {"pass": True, "findings": []}


def test_of_several_blocks_the_last_json_one_wins() -> None:
    text = ('First draft:\n```json\n{"pass": false, "findings": ["draft"]}\n```\n'
            'Final:\n```json\n{"pass": true}\n```\n'
            'For reference, the old config:\n```\n{"pass": "ignored"}\n```\n')
    assert json_answer(text) == {"pass": True}


def test_a_bare_fence_counts_when_no_json_fence_holds_an_object() -> None:
    text = ('Example:\n```json\n[1, 2]\n```\nAnswer:\n```\n{"pass": true}\n```\n'
            '```json\nnot json at all\n```\n')
    assert json_answer(text) == {"pass": True}


@pytest.mark.parametrize("text, why", [
    ("", "holds no JSON object"),
    ("I could not decide.", "holds no JSON object"),
    ("[1, 2, 3]", "holds no JSON object"),
    ('"just a string"', "holds no JSON object"),
    ("```json\n{'pass': True}\n```", "fenced block is not a valid JSON object"),
    ("```json\n[1, 2]\n```", "fenced block is not a valid JSON object"),
])
def test_an_answer_without_an_object_is_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(AnswerError, match=why):
        json_answer(text)


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for text in (deep, f"```json\n{deep}\n```", f"Plan: {deep} done"):
        with pytest.raises(AnswerError):
            json_answer(text)


# --- plans --------------------------------------------------------------------------------------


def test_a_plan_becomes_tasks_in_the_agents_own_ids() -> None:
    tasks = plan_tasks(PLAN)
    assert [t.key for t in tasks] == ["a", "b"]
    a, b = tasks
    assert (a.title, a.body, a.success_criteria, a.paths) == \
        ("Add the parser", "in parse.py", ["tests pass"], ["parse.py"])
    assert b.depends_on == ["a"] and b.profile == "claude" and a.profile is None


def test_numeric_ids_and_dependencies_are_compared_as_text() -> None:
    tasks = plan_tasks({"tasks": [{"id": 1, "title": "one"},
                                  {"id": 2, "title": "two", "depends_on": [1]}]})
    assert [t.key for t in tasks] == ["1", "2"] and tasks[1].depends_on == ["1"]


def test_single_strings_stand_for_one_item_lists() -> None:
    (task,) = plan_tasks({"tasks": [{"id": "x", "title": "t", "depends_on": "w",
                                     "paths": "src/", "success_criteria": "it works"}]})
    assert (task.depends_on, task.paths, task.success_criteria) == (["w"], ["src/"],
                                                                    ["it works"])


def test_text_is_trimmed_and_titles_are_capped() -> None:
    (task,) = plan_tasks({"tasks": [{"id": " x ", "title": "  " + "t" * 400 + " ",
                                     "body": "\n body \n", "paths": ["a", "  ", "b"]}]})
    assert task.key == "x" and task.title == "t" * 300 and task.body == "body"
    assert task.paths == ["a", "b"]  # blank entries dropped


@pytest.mark.parametrize("data, where", [
    ({}, '"tasks" list'),
    ({"tasks": []}, '"tasks" list'),
    ({"tasks": {"id": "a"}}, '"tasks" list'),
    ({"tasks": ["do it"]}, r"tasks\[0\] must be an object"),
    ({"tasks": [{"title": "no id"}]}, r"tasks\[0\]\.id must be a non-empty string"),
    ({"tasks": [{"id": 1.5, "title": "x"}]}, r"tasks\[0\]\.id must be a non-empty string"),
    ({"tasks": [{"id": True, "title": "x"}]}, r"tasks\[0\]\.id must be a non-empty string"),
    ({"tasks": [{"id": "a", "title": "x"}, {"id": "b"}]},
     r"tasks\[1\]\.title must be a non-empty string"),
    ({"tasks": [{"id": "a", "title": "x"}, {"id": "b", "title": "   "}]},
     r"tasks\[1\]\.title must be a non-empty string"),
    ({"tasks": [{"id": "a", "title": "x", "body": ["b"]}]}, r"tasks\[0\]\.body must be a string"),
    ({"tasks": [{"id": "a", "title": "x", "depends_on": [{"id": "b"}]}]},
     r"tasks\[0\]\.depends_on must be a list of strings"),
    ({"tasks": [{"id": "a", "title": "x", "paths": [1]}]},
     r"tasks\[0\]\.paths must be a list of strings"),
    ({"tasks": [{"id": "a", "title": "x", "success_criteria": 3}]},
     r"tasks\[0\]\.success_criteria must be a list of strings"),
    ({"tasks": [{"id": "a", "title": "x", "agent": 7}]}, r"tasks\[0\]\.agent must be a string"),
])
def test_a_bad_plan_is_refused_naming_the_field(data: dict[str, Any], where: str) -> None:
    with pytest.raises(AnswerError, match=where):
        plan_tasks(data)


def test_rekey_gives_shiftctl_keys_in_plan_order_and_renames_dependencies() -> None:
    tasks = plan_tasks({"tasks": [{"id": "setup", "title": "s"},
                                  {"id": "build", "title": "b", "depends_on": ["setup"]},
                                  {"id": "ship", "title": "x", "depends_on": ["build", "setup"]}]})
    first = rekey([PlannedTask(**vars(t)) for t in tasks], 1)
    assert [t.key for t in first] == ["t1", "t2", "t3"]
    assert [t.depends_on for t in first] == [[], ["t1"], ["t2", "t1"]]
    second = rekey(tasks, 2)
    assert [t.key for t in second] == ["v2t1", "v2t2", "v2t3"]
    assert second[2].depends_on == ["v2t2", "v2t1"]


def test_rekey_leaves_an_unknown_dependency_for_validation_to_refuse() -> None:
    tasks = rekey(plan_tasks({"tasks": [{"id": "a", "title": "a", "depends_on": ["zz"]}]}), 1)
    assert tasks[0].key == "t1" and tasks[0].depends_on == ["zz"]


# --- verdicts -----------------------------------------------------------------------------------


def test_a_passing_verdict_may_carry_findings() -> None:
    assert verdict({"pass": True}) == (True, [])
    assert verdict({"pass": True, "findings": ["nit: naming"]}) == (True, ["nit: naming"])


def test_a_failing_verdict_keeps_its_findings() -> None:
    assert verdict({"pass": False, "findings": ["no tests", " ", "leaks a file handle"]}) == \
        (False, ["no tests", "leaks a file handle"])
    assert verdict({"pass": False, "findings": "no tests"}) == (False, ["no tests"])


@pytest.mark.parametrize("findings", [None, [], ["  "], ""])
def test_a_failing_verdict_always_names_a_finding(findings: Any) -> None:
    passed, found = verdict({"pass": False, "findings": findings})
    assert passed is False and len(found) == 1 and found[0].strip()


@pytest.mark.parametrize("data, why", [
    ({}, '"pass": true or false'),
    ({"pass": "yes"}, '"pass": true or false'),
    ({"pass": 1}, '"pass": true or false'),
    ({"pass": None, "findings": ["x"]}, '"pass": true or false'),
    ({"pass": False, "findings": [{"file": "a.py"}]}, "findings must be a list of strings"),
    ({"pass": True, "findings": 5}, "findings must be a list of strings"),
])
def test_a_bad_verdict_is_refused_with_a_reason(data: dict[str, Any], why: str) -> None:
    with pytest.raises(AnswerError, match=why):
        verdict(data)


def test_a_reviewers_whole_answer_reads_end_to_end() -> None:
    text = ("The change adds the parser but no test covers the error path.\n\n"
            "```json\n{\"pass\": false, \"findings\": [\"parse.py: no test for bad input\"]}\n"
            "```\n")
    assert verdict(json_answer(text)) == (False, ["parse.py: no test for bad input"])


# --- nothing an agent answers crashes the admin -------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=25)
FIELDS = ["id", "title", "body", "success_criteria", "depends_on", "paths", "agent", "tasks",
          "pass", "findings"]
objects = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values,
                          max_size=6)
plans = st.fixed_dictionaries({"tasks": st.lists(objects | json_values, max_size=5)
                               | json_values})
fences = st.sampled_from(["```json\n", "```\n", "~~~json\n", "```JSON\n", "\n```\n", "```",
                          "{", "}", "[", "]", '"', "\n"])
pieces = st.text(max_size=40) | fences | (objects | plans | json_values).map(json.dumps)
answers = st.text(max_size=300) | st.lists(pieces, max_size=10).map("".join)


@settings(max_examples=400, deadline=None)
@given(answers)
def test_any_answer_parses_or_is_refused_with_an_answer_error(text: str) -> None:
    try:
        data = json_answer(text)
    except AnswerError as exc:
        assert str(exc)
        return
    assert isinstance(data, dict)


@settings(max_examples=400, deadline=None)
@given(plans | objects)
def test_any_plan_gives_tasks_or_an_answer_error(data: dict[str, Any]) -> None:
    try:
        tasks = plan_tasks(data)
    except AnswerError as exc:
        assert str(exc)
        return
    assert tasks and all(t.key and t.title for t in tasks)
    keyed = rekey(tasks, 2)
    assert all(t.key.startswith("v2t") for t in keyed)


@settings(max_examples=300, deadline=None)
@given(objects)
def test_any_verdict_reads_or_is_refused_with_an_answer_error(data: dict[str, Any]) -> None:
    try:
        passed, findings = verdict(data)
    except AnswerError as exc:
        assert str(exc)
        return
    assert isinstance(passed, bool) and (passed or findings)
