"""result.json and the status block: whatever arrives, a clear verdict, never a crash."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.worker.result import (
    MAX_RESULT_BYTES,
    Result,
    ResultError,
    parse_status_block,
    read,
    write,
)


def test_roundtrip(tmp_path: Path) -> None:
    r = Result(outcome="succeeded", commits=["abc"], checks=[{"name": "t", "passed": True,
                                                               "output": "ok"}], cost_usd=0.5)
    write(tmp_path / "result.json", r)
    back = read(tmp_path / "result.json")
    assert back.outcome == "succeeded" and back.commits == ["abc"] and back.cost_usd == 0.5


@pytest.mark.parametrize("content, words", [
    (b"", "not valid JSON"),
    (b'{"outcome": "succ', "not valid JSON"),
    (b"\xff\xfe\x00junk", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"outcome": "won"}', "outcome"),
    (b'{"outcome": "failed", "commits": "abc"}', "commits"),
    (b'{"outcome": "failed", "cost_usd": -1}', "cost_usd"),
    (b'{"outcome": "failed", "checks": [{"passed": true}]}', "checks"),
])
def test_bad_results_raise_with_a_reason(tmp_path: Path, content: bytes, words: str) -> None:
    (tmp_path / "result.json").write_bytes(content)
    with pytest.raises(ResultError, match=words):
        read(tmp_path / "result.json")


def test_huge_and_missing_results(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="missing"):
        read(tmp_path / "result.json")
    with open(tmp_path / "result.json", "wb") as fh:
        fh.truncate(MAX_RESULT_BYTES + 1)
    with pytest.raises(ResultError, match="bytes"):
        read(tmp_path / "result.json")


def test_status_block_takes_the_last_block() -> None:
    text = ("thinking...\n```shiftctl\n{\"status\": \"blocked\", \"question\": \"q\"}\n```\n"
            "then\n```shiftctl\n{\"status\": \"done\", \"summary\": \"s\"}\n```\n")
    block = parse_status_block(text)
    assert block and block.status == "done" and block.summary == "s"
    assert parse_status_block("no block here") is None
    with pytest.raises(ResultError):
        parse_status_block("```shiftctl\n{\"status\": \"maybe\"}\n```")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_agent_output_parses_or_raises_result_error(text: str) -> None:
    for candidate in (text, f"```shiftctl\n{text}\n```"):
        try:
            parse_status_block(candidate)
        except ResultError:
            pass


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats()
                           | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=15)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(["outcome", "commits", "checks", "cost_usd", "tokens_in",
                                        "summary", "subtasks", "learnings", "exit_code",
                                        "rate_limit_reset", "extra"]), json_values, max_size=6))
def test_any_result_document_reads_or_raises_result_error(tmp_path_factory, doc) -> None:
    path = tmp_path_factory.mktemp("r") / "result.json"
    path.write_text(json.dumps(doc))
    try:
        r = read(path)
    except ResultError:
        return
    assert math.isfinite(r.cost_usd) and r.tokens_in >= 0 and r.outcome


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["status", "summary", "question", "subtasks",
                                        "learnings", "cost_usd"]), json_values, max_size=5))
def test_any_block_document_parses_or_raises_result_error(doc) -> None:
    try:
        parse_status_block("```shiftctl\n" + json.dumps(doc) + "\n```")
    except ResultError:
        pass
