"""aider, gemini and opencode as workers: fake CLIs on PATH that check the command line the
template promises, take the prompt where it says (a file for aider, stdin for the others,
never argv), edit the worktree and print what the real CLI prints. A real ``python -m
worker`` and a real admin loop read them.
"""
from __future__ import annotations

import difflib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiftctl.memory.store import Store
from shiftctl.worker.spec import AgentSpec, Spec, TaskSpec

from support.project import Project
from support.repos import git, make_repo

PROMPT_MARK = "Write the greeting file"

# What each fake CLI checks its arguments against; "<file>" stands for the prompt file.
ARGV = {
    "aider": ["--yes-always", "--no-pretty", "--no-stream", "--no-check-update",
              "--no-show-model-warnings", "--no-analytics", "--message-file", "<file>"],
    "gemini": ["--approval-mode", "yolo", "--output-format", "json"],
    "opencode": ["run", "--format", "json"],
}
PROMPT_ON_STDIN = {"aider": False, "gemini": True, "opencode": True}
# What each fake prints about usage, and so what result.json must say.
USAGE = {"aider": (2100, 340, 0.02), "gemini": (24939, 20, 0.0),
         "opencode": (1200 + 300, 80 + 40, 0.0042 + 0.0011)}

FAKE = r'''#!{python}
"""A fake {kind} CLI written by tests/test_agent_profiles.py."""
import json, pathlib, sys

KIND, EXPECTED, ON_STDIN = {kind!r}, {expected!r}, {on_stdin!r}
MARK, WRITE, SUMMARY, MODE = {mark!r}, {write!r}, {summary!r}, {mode!r}


def refuse(problem):
    print(f"fake {{KIND}}: {{problem}}; argv={{sys.argv[1:]!r}}", file=sys.stderr)
    sys.exit(97)


args = sys.argv[1:]
if len(args) != len(EXPECTED):
    refuse("wrong number of arguments")
prompt_file = None
for got, want in zip(args, EXPECTED):
    if want == "<file>":
        prompt_file = pathlib.Path(got)
    elif got != want:
        refuse(f"expected {{want!r}}, got {{got!r}}")
stdin = sys.stdin.read()
prompt = stdin if ON_STDIN else prompt_file.read_text()
if MARK not in prompt:
    refuse("the prompt did not arrive where the template says")
if not ON_STDIN and stdin:
    refuse("the prompt also arrived on stdin")
if any(MARK in a or "\n" in a for a in args):
    refuse("the prompt is in argv")

if MODE == "rate_limit":
    error = {{"type": "ApiError", "code": 429,
              "message": "Quota exceeded for quota metric 'Generate Content API requests per "
                         "minute' of service 'generativelanguage.googleapis.com'. "
                         "Please retry in 20s."}}
    if KIND == "gemini":  # gemini prints a failure on stderr and exits with the status
        print("Attempt 1 failed with status 429. Retrying with backoff...", file=sys.stderr)
        print(json.dumps({{"session_id": "s-9", "error": error}}, indent=2), file=sys.stderr)
        sys.exit(429)
    print(json.dumps({{"type": "error", "timestamp": 1, "sessionID": "ses_9", "error": {{
        "name": "APIError", "data": {{"message": error["message"], "statusCode": 429}}}}}}))
    sys.exit(1)

pathlib.Path(WRITE).write_text(f"hello from {{KIND}}\n")
reply = (f"I created {{WRITE}}.\n\n```shiftctl\n"
         + json.dumps({{"status": "done", "summary": SUMMARY}}) + "\n```")
if KIND == "aider":
    print("Aider v0.86.1\nMain model: sonnet with diff edit format\nGit repo: .git\n")
    print(reply)
    print("\nTokens: 2.1k sent, 340 received. Cost: $0.01 message, $0.02 session.")
    print(f"Applied edit to {{WRITE}}")
elif KIND == "gemini":
    tokens = {{"prompt": 24939, "candidates": 20, "total": 24959, "cached": 0, "thoughts": 0,
               "tool": 0}}
    print(json.dumps({{"session_id": "s-1", "response": reply, "stats": {{
        "models": {{"gemini-2.5-pro": {{"api": {{"totalRequests": 1, "totalErrors": 0}},
                                       "tokens": tokens}}}},
        "tools": {{"totalCalls": 1, "totalSuccess": 1}}}}}}, indent=2))
else:
    def event(kind, **part):
        print(json.dumps({{"type": kind, "timestamp": 1767036059338, "sessionID": "ses_1",
                           "part": {{"sessionID": "ses_1", **part}}}}))
    event("step_start", type="step-start")
    event("tool_use", type="tool", tool="write", state={{"status": "completed"}})
    event("step_finish", type="step-finish", reason="tool-calls", cost=0.0042,
          tokens={{"input": 1200, "output": 80, "reasoning": 0, "cache": {{"read": 0,
                                                                          "write": 0}}}})
    event("step_start", type="step-start")
    event("text", type="text", text=reply)
    event("step_finish", type="step-finish", reason="stop", cost=0.0011,
          tokens={{"input": 300, "output": 40, "reasoning": 0, "cache": {{"read": 0,
                                                                         "write": 0}}}})
'''


def install_fake(bin_dir: Path, kind: str, *, model: str | None = None, mode: str = "work",
                 write: str | None = None, summary: str | None = None) -> Path:
    """Write an executable named like the real CLI into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    expected = ARGV[kind] + (["--model", model] if model else [])
    path = bin_dir / kind
    path.write_text(FAKE.format(python=sys.executable, kind=kind, expected=expected,
                                on_stdin=PROMPT_ON_STDIN[kind], mark=PROMPT_MARK,
                                write=write or f"hello-{kind}.txt",
                                summary=summary or f"wrote the greeting with {kind}", mode=mode))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def run_worker(tmp_path: Path, kind: str, bin_dir: Path, *,
               model: str | None = None) -> dict[str, Any]:
    """One attempt with ``python -m shiftctl.worker``; the fake CLIs come first on the
    worker's PATH."""
    repo = make_repo(tmp_path / "repo")
    run_dir = tmp_path / "runs" / "run1"
    run_dir.mkdir(parents=True)
    prompt = run_dir / "prompt.md"
    prompt.write_text(f"# Your task: {PROMPT_MARK}\n\nCreate hello-{kind}.txt.\n")
    spec = Spec(run_id="run1", run_dir=str(run_dir), repo=str(repo),
                worktree=str(repo / ".shiftctl" / "worktrees" / "1-t1"), branch="shiftctl/1-t1",
                base_ref="main", base_sha=git(repo, "rev-parse", "main"),
                task=TaskSpec(issue=1, key="t1", title=PROMPT_MARK),
                agent=AgentSpec(profile=kind, kind=kind, model=model, task_timeout=60,
                                stall_timeout=30),
                prompt_file=str(prompt), heartbeat_s=0.2)
    (run_dir / "spec.json").write_text(json.dumps(spec.to_dict()))
    (repo / ".shiftctl").mkdir(exist_ok=True)
    (repo / ".shiftctl" / ".gitignore").write_text("*\n")
    env = {**os.environ,
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "shiftctl.worker", str(run_dir / "spec.json")],
                          env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run_dir / "result.json").read_text())
    result["_repo"], result["_log"] = repo, (run_dir / "agent.log").read_text()
    return result


# --- one attempt per CLI -----------------------------------------------------------------------


@pytest.mark.parametrize("model", [None, "the-model"])
@pytest.mark.parametrize("kind", ["aider", "gemini", "opencode"])
def test_each_cli_runs_from_its_template_and_reports_its_usage(tmp_path: Path, kind: str,
                                                               model: str | None) -> None:
    install_fake(tmp_path / "bin", kind, model=model)
    r = run_worker(tmp_path, kind, tmp_path / "bin", model=model)
    assert r["outcome"] == "succeeded", (r["error"], r["_log"])
    assert r["error"] == "" and r["exit_code"] == 0
    repo = r["_repo"]
    assert len(r["commits"]) == 1 and r["files_changed"] == [f"hello-{kind}.txt"]
    assert git(repo, "show", f"shiftctl/1-t1:hello-{kind}.txt") == f"hello from {kind}"
    tokens_in, tokens_out, cost = USAGE[kind]
    assert (r["tokens_in"], r["tokens_out"]) == (tokens_in, tokens_out)
    assert r["cost_usd"] == pytest.approx(cost)
    assert r["summary"] == f"wrote the greeting with {kind}"
    assert r["rate_limit_reset"] is None


def test_a_fake_that_finds_its_arguments_wrong_fails_the_run(tmp_path: Path) -> None:
    """The fakes do check: one expecting a model that is not given refuses to work."""
    install_fake(tmp_path / "bin", "gemini", model="expected-model")
    r = run_worker(tmp_path, "gemini", tmp_path / "bin", model=None)
    assert r["outcome"] == "failed" and r["commits"] == []
    assert "wrong number of arguments" in r["_log"]


@pytest.mark.parametrize("kind", ["gemini", "opencode"])
def test_a_cli_reporting_a_quota_error_ends_rate_limited_with_its_reset(tmp_path: Path,
                                                                        kind: str) -> None:
    install_fake(tmp_path / "bin", kind, mode="rate_limit")
    before = time.time()
    r = run_worker(tmp_path, kind, tmp_path / "bin")
    assert r["outcome"] == "rate_limited", (r["error"], r["_log"])
    assert "Quota exceeded" in r["error"] and r["commits"] == []
    assert before + 20 <= r["rate_limit_reset"] <= time.time() + 20


# --- through the admin -------------------------------------------------------------------------

ISSUE = f"- [ ] {PROMPT_MARK}\n  paths: hello.txt\n"


def config_text(project: Project, kind: str) -> str:
    project.configure(agents={"default": "coder", "profiles": {"coder": {"kind": kind}}})
    return (project.root / "shiftctl.yaml").read_text()


@pytest.mark.parametrize("kind", ["aider", "gemini", "opencode"])
def test_one_line_switches_a_project_between_clis(project: Project, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  kind: str) -> None:
    bin_dir = tmp_path / "bin"
    for k in ("aider", "gemini", "opencode"):
        install_fake(bin_dir, k, write="hello.txt", summary=f"greeting by {k}")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    baseline = config_text(project, "aider").splitlines()
    text = config_text(project, kind)
    changed = [d for d in difflib.unified_diff(baseline, text.splitlines(), lineterm="", n=0)
               if d[:1] in "+-" and d[:3] not in ("+++", "---")]
    assert len(changed) == (0 if kind == "aider" else 2), changed  # one line out, one in
    assert yaml.safe_load(text)["agents"]["profiles"]["coder"] == {"kind": kind}

    n = project.file_issue("Greet", ISSUE)
    project.run()
    assert project.issue_state(n) == "done"
    (pr,) = project.prs()
    assert pr["issue"] == n and pr["state"] == "open"
    assert git(project.root, "show", f"shiftctl/issue-{n}:hello.txt") == f"hello from {kind}"
    (run,) = [r for r in project.runs(n) if r.kind == "work"]
    tokens_in, tokens_out, cost = USAGE[kind]
    assert (run.profile, run.outcome) == ("coder", "succeeded")
    assert (run.tokens_in, run.tokens_out) == (tokens_in, tokens_out)
    assert run.cost_usd == pytest.approx(cost) and run.summary == f"greeting by {kind}"


def test_a_rate_limit_cools_the_profile_and_the_fallback_runs_the_task_for_free(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    install_fake(bin_dir, "gemini", mode="rate_limit")
    install_fake(bin_dir, "opencode", write="hello.txt", summary="greeting by the fallback")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project.configure(agents={"default": "gem", "profiles": {
        "gem": {"kind": "gemini", "fallback": "backup"},
        "backup": {"kind": "opencode"}}})
    n = project.file_issue("Greet", ISSUE)
    before = time.time()
    project.run()

    runs = sorted((r for r in project.runs(n) if r.kind == "work"), key=lambda r: r.started_at)
    assert [(r.profile, r.outcome) for r in runs] == [("gem", "rate_limited"),
                                                     ("backup", "succeeded")]
    limited, done = runs
    assert limited.counted == 0 and done.counted == 1
    assert "Quota exceeded" in (limited.error or "")
    assert limited.attempt == done.attempt == 1  # the limit spent no attempt
    task = project.tasks(n)["t1"]
    assert task.state == "done" and task.attempts == 1
    assert project.issue_state(n) == "done" and len(project.prs()) == 1
    assert git(project.root, "show", f"shiftctl/issue-{n}:hello.txt") == "hello from opencode"

    store = Store.open(project.root / ".shiftctl" / "state.db", readonly=True)
    try:
        until = float(store.get("cooldown:gem") or 0)
        streak = store.get("cooldown_streak:gem")
        backup_cooled = store.get("cooldown:backup")
    finally:
        store.close()
    assert before + 20 <= until <= time.time() + 20  # the provider's own "retry in 20s"
    assert streak == "1" and backup_cooled is None
