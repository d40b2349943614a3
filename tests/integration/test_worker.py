"""The worker protocol (docs/design.md §5): a real ``python -m shiftctl.worker``, real git."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.agents import agent_argv
from support.repos import git, make_repo
from support.worker import run_worker


def test_shell_agent_commits_and_result_is_complete(tmp_path: Path) -> None:
    body = "Do it:\n```sh\nmkdir -p out\necho hi > out/hi.txt\n```\n"
    r = run_worker(tmp_path, kind="shell", body=body,
                   checks=[("has-file", "test -f out/hi.txt && echo present", 30)])
    assert r["outcome"] == "succeeded" and r["error"] == ""
    assert len(r["commits"]) == 1 and r["files_changed"] == ["out/hi.txt"]
    assert r["checks"][0]["passed"] and "present" in r["checks"][0]["output"]
    repo = r["_repo"]
    assert git(repo, "show", "shiftctl/1-t1:out/hi.txt") == "hi"
    assert "shiftctl" in git(repo, "log", "-1", "--format=%an", "shiftctl/1-t1")
    assert (r["_run_dir"] / "heartbeat").exists() and (tmp_path / "wake").exists()
    assert r["started_at"] <= r["agent_started_at"] <= r["agent_ended_at"] <= r["ended_at"]
    assert not list(r["_run_dir"].glob(".result.json*"))  # no temp file left behind


def test_agent_commits_are_kept_and_leftovers_committed(tmp_path: Path) -> None:
    r = run_worker(tmp_path, argv=agent_argv("scripted.py"),
                   env={"AGENT_WRITE": "a.txt:a", "AGENT_COMMIT": "1"})
    assert r["outcome"] == "succeeded" and len(r["commits"]) == 1
    r2 = run_worker(tmp_path / "two", argv=agent_argv("scripted.py"),
                    env={"AGENT_WRITE": "b.txt:b"})
    assert r2["outcome"] == "succeeded" and r2["files_changed"] == ["b.txt"]


def test_claiming_success_without_changes_is_a_failure(tmp_path: Path) -> None:
    r = run_worker(tmp_path, argv=agent_argv("scripted.py"),
                   env={"AGENT_STATUS": '{"status": "done", "summary": "all good"}'})
    assert r["outcome"] == "failed" and "changed nothing" in r["error"]
    assert r["summary"] == "all good"


def test_nonzero_exit_is_a_failure(tmp_path: Path) -> None:
    r = run_worker(tmp_path, argv=agent_argv("scripted.py"),
                   env={"AGENT_WRITE": "a.txt:a", "AGENT_EXIT": "3"})
    assert r["outcome"] == "failed" and r["exit_code"] == 3 and "code 3" in r["error"]


def test_missing_agent_binary_is_a_failure(tmp_path: Path) -> None:
    r = run_worker(tmp_path, argv=["/nonexistent/agent"])
    assert r["outcome"] == "failed" and "not found" in r["error"]


def test_silence_is_a_stall_and_total_time_a_timeout(tmp_path: Path) -> None:
    r = run_worker(tmp_path / "stall", argv=agent_argv("scripted.py"),
                   env={"AGENT_SLEEP": "30"}, stall=1, timeout=20)
    assert r["outcome"] == "stalled"
    assert r["agent_ended_at"] - r["agent_started_at"] < 10
    r = run_worker(tmp_path / "slow", argv=agent_argv("scripted.py"),
                   env={"AGENT_SLEEP": "30", "AGENT_TICK": "0.2"}, stall=1, timeout=2)
    assert r["outcome"] == "timed_out"  # it kept talking, so it was not stalled


@pytest.mark.parametrize("status, outcome, field", [
    ('{"status": "blocked", "question": "Which DB?"}', "blocked", ("question", "Which DB?")),
    ('{"status": "needs_breakdown", "subtasks": [{"title": "x", "body": "y"}]}',
     "needs_breakdown", ("subtasks", [{"title": "x", "body": "y"}])),
    ('{"status": "done", "learnings": ["run make first"], "cost_usd": 0.25}', "succeeded",
     ("learnings", ["run make first"])),
    ('{"status": "done", "summary": ', "failed", ("error", None)),
    ('{"status": "blocked"}', "failed", ("error", None)),
])
def test_status_block_decides_the_outcome(tmp_path: Path, status, outcome, field) -> None:
    r = run_worker(tmp_path, argv=agent_argv("scripted.py"),
                   env={"AGENT_WRITE": "a.txt:a", "AGENT_STATUS": status})
    assert r["outcome"] == outcome
    key, value = field
    if value is None:
        assert "malformed final output" in r[key]
    else:
        assert r[key] == value


def test_agent_environment_is_an_allowlist(tmp_path: Path) -> None:
    dump = tmp_path / "env.txt"
    worker_env = {**os.environ, "PASSED": "yes",
                  "NOT_PASSED": "leak-me-not"}
    r = run_worker(tmp_path, argv=agent_argv("scripted.py"),
                   env={"AGENT_WRITE": "a.txt:a", "AGENT_DUMP_ENV": str(dump), "SET_HERE": "1"},
                   worker_env=worker_env)
    assert r["outcome"] == "succeeded"
    text = dump.read_text()
    env = json.loads(text.splitlines()[0])
    assert "leak-me-not" not in text
    assert set(env) <= {"PATH", "HOME", "LANG", "TERM", "TMPDIR", "AGENT_WRITE",
                        "AGENT_DUMP_ENV", "SET_HERE", "LC_CTYPE"}


def test_a_retry_continues_on_the_kept_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = run_worker(tmp_path / "a", argv=agent_argv("scripted.py"),
                       env={"AGENT_WRITE": "one.txt:1"}, repo=repo, name="a1")
    second = run_worker(tmp_path / "b", argv=agent_argv("scripted.py"),
                        env={"AGENT_WRITE": "two.txt:2"}, repo=repo, name="a2", keep=True)
    assert second["outcome"] == "succeeded"
    assert first["commits"][0] in second["commits"]
    assert set(second["files_changed"]) == {"one.txt", "two.txt"}
    fresh = run_worker(tmp_path / "c", argv=agent_argv("scripted.py"),
                       env={"AGENT_WRITE": "three.txt:3"}, repo=repo, name="a3", keep=False)
    assert fresh["files_changed"] == ["three.txt"]
