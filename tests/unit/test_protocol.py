"""The worker protocol's published schemas: they match the dataclasses, and they refuse what
the readers refuse."""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

import pytest

from shiftctl.admin.planning.answers import AnswerError, plan_tasks
from shiftctl.worker import protocol
from shiftctl.worker import result as result_mod
from shiftctl.worker import spec as spec_mod
from shiftctl.worker.result import Result, ResultError, StatusBlock, parse_status_block, validated
from shiftctl.worker.spec import AgentSpec, CheckSpec, Spec, TaskSpec

SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_types(hint: Any) -> set[str]:
    """The JSON types a field of Python type ``hint`` is written as."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in SCALARS:
        return {SCALARS[hint]}
    if hint is type(None):
        return {"null"}
    if origin in (typing.Union, types.UnionType):
        return set().union(*(json_types(a) for a in args))
    if origin is list:
        return {"array"}
    if origin is dict:
        return {"object"}
    if dataclasses.is_dataclass(hint):
        return {"object"}
    raise AssertionError(f"no JSON type for {hint!r}")


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return schema["$defs"][ref.split("/")[-1]]
    return node


def schema_types(node: dict[str, Any]) -> set[str]:
    if "enum" in node:
        return {SCALARS[type(v)] if v is not None else "null" for v in node["enum"]}
    kind = node.get("type", "object" if "$ref" in node else None)
    assert kind, f"no type in {node}"
    return {kind} if isinstance(kind, str) else set(kind)


CASES = [(Spec, "spec", None), (TaskSpec, "spec", "task"), (AgentSpec, "spec", "agent"),
         (CheckSpec, "spec", "check"), (Result, "result", None),
         (StatusBlock, "status-block", None)]


@pytest.mark.parametrize("cls, name, part", CASES, ids=[c[0].__name__ for c in CASES])
def test_every_dataclass_field_is_in_its_schema_with_its_type(cls: type, name: str,
                                                               part: str | None) -> None:
    full = protocol.schema(name)
    node = full["$defs"][part] if part else full
    hints = typing.get_type_hints(cls, vars(spec_mod) | vars(result_mod))
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields == set(node["properties"]), "schema and dataclass list different fields"
    for field in fields:
        prop = resolve(full, node["properties"][field])
        py = json_types(hints[field])
        js = schema_types(prop)
        # a JSON integer is also a number; a reader may accept null for an empty default
        assert py <= js | ({"integer"} if "number" in js else set()), (field, py, js)
        assert js - {"null"} <= py | ({"integer"} if "number" in py else set()), (field, py, js)


def test_required_spec_fields_are_exactly_those_without_a_default() -> None:
    for cls, part in ((Spec, None), (TaskSpec, "task"), (AgentSpec, "agent"),
                      (CheckSpec, "check")):
        node = protocol.schema("spec")["$defs"][part] if part else protocol.schema("spec")
        needed = {f.name for f in dataclasses.fields(cls)
                  if f.default is dataclasses.MISSING
                  and f.default_factory is dataclasses.MISSING}
        assert set(node["required"]) == needed, cls.__name__


def test_enumerations_match_the_code() -> None:
    assert protocol.schema("result")["properties"]["outcome"]["enum"] == \
        list(result_mod.OUTCOMES)
    assert protocol.schema("status-block")["properties"]["status"]["enum"] == \
        list(result_mod.STATUSES)
    assert protocol.schema("spec")["$defs"]["agent"]["properties"]["kind"]["enum"] == \
        list(spec_mod.AGENT_KINDS)


def a_spec() -> dict[str, Any]:
    return Spec(run_id="r1", run_dir="/r", repo="/repo", worktree="/w", branch="b",
                base_ref="main", base_sha="a" * 40,
                task=TaskSpec(issue=1, key="t1", title="x"),
                agent=AgentSpec(profile="p", kind="command", argv=["x"]),
                prompt_file="/r/prompt.md", checks=[CheckSpec("t", "true")]).to_dict()


def test_a_spec_the_admin_writes_follows_the_schema() -> None:
    assert protocol.errors("spec", a_spec()) == []


@pytest.mark.parametrize("change, where", [
    (lambda s: s.update(base_sha="main"), "base_sha"),
    (lambda s: s.update(mode="write"), "mode"),
    (lambda s: s["agent"].update(kind="bash"), "agent.kind"),
    (lambda s: s["agent"].update(pass_env="HOME"), "agent.pass_env"),
    (lambda s: s["task"].pop("key"), "task"),
    (lambda s: s.update(surprise=1), "(top level)"),
    (lambda s: s["checks"][0].update(timeout=-1), "checks[0].timeout"),
])
def test_a_bad_spec_is_refused_naming_the_field(change: Any, where: str) -> None:
    spec = a_spec()
    change(spec)
    with pytest.raises(protocol.ProtocolError) as err:
        protocol.check("spec", spec)
    assert where in str(err.value)


@pytest.mark.parametrize("data, where", [
    ({"outcome": "succeeded", "checks": [{"name": "t", "passed": "yes"}]}, "checks[0].passed"),
    ({"outcome": "failed", "extra": "x"}, "extra"),
    ({"outcome": "succeeded", "tokens_in": 1.5}, "tokens_in"),
    ({"outcome": "failed", "checks": [{"name": "t", "passed": False, "exit_code": "1"}]},
     "checks[0].exit_code"),
])
def test_a_result_the_reader_would_coerce_still_fails_the_schema(data: dict, where: str) -> None:
    with pytest.raises(ResultError, match="result schema") as err:
        validated(data)
    assert where in str(err.value)


def test_a_worker_result_round_trips_through_the_schema() -> None:
    r = Result(outcome="succeeded", commits=["a" * 40], checks=[
        {"name": "t", "passed": True, "output": "ok", "exit_code": 0}], tokens_in=3,
        cost_usd=0.1, rate_limit_reset=None, tampering=[], extra={"session": "s"})
    assert protocol.errors("result", json.loads(json.dumps(r.to_dict()))) == []
    assert validated(r.to_dict()).commits == ["a" * 40]


@pytest.mark.parametrize("block", [
    {"status": "done", "summary": "ok", "tokens_in": 2, "cost_usd": 0.5},
    {"status": "blocked", "question": "which one?"},
    {"status": "needs_breakdown", "subtasks": [{"title": "a"}, {"title": "b", "body": "x"}]},
    {"status": "blocked"},
    {"status": "needs_breakdown", "subtasks": []},
    {"status": "finished"},
    {"status": "done", "tokens_in": 1.5},
    {"status": "done", "learnings": "one"},
    {"status": "needs_breakdown", "subtasks": [{"title": " "}]},
])
def test_the_status_block_schema_and_parser_agree(block: dict) -> None:
    text = f"done\n```shiftctl\n{json.dumps(block)}\n```\n"
    schema_ok = not protocol.errors("status-block", block)
    try:
        parse_status_block(text)
        parsed = True
    except ResultError:
        parsed = False
    assert schema_ok == parsed, block


@pytest.mark.parametrize("plan", [
    {"tasks": [{"id": 1, "title": "a"}, {"id": "2", "title": "b", "depends_on": [1]}]},
    {"tasks": [{"id": "x", "title": "a", "paths": "src/", "success_criteria": ["y"],
                "agent": "claude"}]},
    {"tasks": [{"id": "x", "title": "a", "depends_on": "y"}]},
    {"tasks": []},
    {"tasks": [{"id": "x"}]},
    {"tasks": [{"id": "x", "title": "a", "paths": [1]}]},
    {"tasks": [{"id": True, "title": "a"}]},
    {"tasks": "x"},
    {"tasks": [{"id": "x", "title": "a", "agent": 3}]},
])
def test_the_plan_schema_and_the_plan_reader_agree(plan: dict) -> None:
    schema_ok = not protocol.errors("plan", plan)
    try:
        plan_tasks(plan)
        parsed = True
    except AnswerError:
        parsed = False
    assert schema_ok == parsed, plan
