"""The real Codex CLI (``codex exec --json``) as planner, worker and reviewer, against the
scripted model server's OpenAI Responses API on 127.0.0.1: its apply_patch and exec_command
tools really change the worktree inside Codex's own sandbox, and what it reports is what
shiftctl records."""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_server import (
    ModelServer,
    Script,
    act,
    finish,
    hang,
    plan,
    rate_limited,
    server_error,
    tool,
    unauthorized,
    verdict,
)
from support.agents import agent_cli
from support.project import Project
from support.repos import git, outside_tmp
from support.sandbox import Guarded, require_bwrap

KEY_VAR = "SHIFTCTL_TEST_OPENAI_KEY"
PRICES = {"usd_per_mtok_in": 1.25, "usd_per_mtok_out": 10.0}


@pytest.fixture
def codex(model_server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The CLI pointed at the model server through a provider of its own (``-c`` overrides,
    as a user would put them in ``~/.codex/config.toml``), and a CODEX_HOME outside /tmp,
    where Codex refuses to set up its sandbox."""
    cli = agent_cli("codex")
    monkeypatch.setenv(KEY_VAR, "sk-test-not-a-real-key")
    home = outside_tmp("codex-home")
    monkeypatch.setenv("CODEX_HOME", str(home))
    provider = "model_providers.scripted"
    yield [cli, "-c", "model_provider=scripted", "-c", f"{provider}.name=scripted",
           "-c", f'{provider}.base_url="{model_server.url}/v1"',
           "-c", f"{provider}.wire_api=responses", "-c", f"{provider}.env_key={KEY_VAR}",
           "-c", f"{provider}.request_max_retries=0", "-c", f"{provider}.stream_max_retries=0"]
    shutil.rmtree(home, ignore_errors=True)


def profile(argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"kind": "codex", "argv": argv, "model": "gpt-5.5",
            "pass_env": [KEY_VAR, "CODEX_HOME"], **PRICES, **extra}


def add_file(name: str, text: str) -> Any:
    return tool("apply_patch", input=f"*** Begin Patch\n*** Add File: {name}\n+{text}\n"
                                     "*** End Patch\n")


def reported_usage(run: Any) -> dict[str, Any]:
    for line in reversed((Path(run.run_dir) / "agent.log").read_text().splitlines()):
        if line.startswith('{"type":"turn.completed"'):
            return json.loads(line)["usage"]  # type: ignore[no-any-return]
    raise AssertionError(f"no turn.completed in {run.run_dir}/agent.log")


def test_issue_to_pull_request_with_codex_planning_working_and_reviewing(
        project: Project, model_server: ModelServer, codex: list[str]) -> None:
    project.configure(
        agents={"default": "codex", "profiles": {"codex": profile(codex)}},
        planner={"kind": "agent", "profile": "codex"}, review={"judge": "codex"},
        checks=[{"name": "answer", "run": "grep -qx 42 out/answer.txt", "timeout": 60}])
    n = project.file_issue("Answer", "Write the answer to out/answer.txt and a greeting.")
    model_server.script = Script().add(
        "You are planning work for shiftctl",
        plan({"id": 1, "title": "Write the greeting and the answer",
              "body": "greeting.txt says hello; out/answer.txt holds 42.",
              "success_criteria": ["out/answer.txt is 42"], "depends_on": [],
              "paths": ["greeting.txt", "out/"]})).add(
        "# Your task: Write the greeting and the answer",
        act(add_file("greeting.txt", "hello")),
        act(tool("exec_command", cmd="mkdir -p out && echo $((6 * 7)) > out/answer.txt")),
        finish("greeting and answer written")).add(
        "# The task: Write the greeting and the answer",
        act(tool("exec_command", cmd="cat out/answer.txt")), verdict(True))

    project.run(max_seconds=150)

    assert project.issue_state(n) == "done"
    assert git(project.root, "show", f"shiftctl/issue-{n}:greeting.txt") == "hello"
    assert git(project.root, "show", f"shiftctl/issue-{n}:out/answer.txt") == "42"
    [pr] = project.prs()
    assert not pr["draft"]
    runs = project.runs(n)
    assert [(r.kind, r.outcome) for r in runs] == [
        ("plan", "succeeded"), ("work", "succeeded"), ("judge", "succeeded"),
        ("verify", "succeeded")]  # the checks, once more on the integrated branch
    runs = runs[:-1]
    assert runs[2].verdict == "pass"
    for r in runs:  # tokens as Codex reported them, cost at the profile's prices
        usage = reported_usage(r)
        assert (r.tokens_in, r.tokens_out) == (usage["input_tokens"], usage["output_tokens"])
        assert r.cost_usd == pytest.approx((r.tokens_in * 1.25 + r.tokens_out * 10.0) / 1e6)
        assert r.cost_usd > 0
    assert model_server.script.exhausted == []


def one_task(project: Project, **config: Any) -> int:
    project.configure(**config)
    return project.file_issue("Greet", "- [ ] Write the greeting\n")


def test_a_429_from_the_provider_cools_codex_down_and_the_fallback_takes_the_task(
        project: Project, model_server: ModelServer, codex: list[str]) -> None:
    n = one_task(project, agents={"default": "codex", "profiles": {
        "codex": profile(codex, fallback="backup"), "backup": profile(codex)}},
        workers={"cooldown": 600})
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(add_file("greeting.txt", "hello"), faults=(rate_limited(),)), finish("done"))
    project.run(max_seconds=90)

    first, second = project.runs(n)
    assert (first.profile, first.outcome, first.counted) == ("codex", "rate_limited", 0)
    assert "429" in (first.error or "")
    assert (second.profile, second.outcome) == ("backup", "succeeded")
    assert project.tasks(n)["t1"].attempts == 1
    s = project.store()
    try:
        assert float(s.get("cooldown:codex") or 0) > time.time() + 500
    finally:
        s.close()


def test_a_refused_key_ends_a_codex_run_unauthenticated_without_spending_an_attempt(
        project: Project, model_server: ModelServer, codex: list[str]) -> None:
    n = one_task(project, agents={"default": "codex", "profiles": {"codex": profile(codex)}})
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(add_file("greeting.txt", "hello"), faults=(unauthorized(),)), finish("done"))
    project.run(max_seconds=90)

    [run] = project.runs(n)
    assert (run.outcome, run.counted) == ("unauthenticated", 0), run.error
    task = project.tasks(n)["t1"]
    assert (task.state, task.attempts) == ("needs_human", 0)
    assert "Incorrect API key" in (task.reason or "") or "401" in (task.reason or "")
    project.comment(n, "/retry t1")
    project.run(max_seconds=90)
    assert project.issue_state(n) == "done"


def test_server_errors_and_a_hung_stream_end_codex_runs_without_losing_the_task(
        project: Project, model_server: ModelServer, codex: list[str]) -> None:
    """500s are an outage (waited out, no attempt spent); a stream that hangs is killed by
    the stall timer and retried as a counted failure."""
    n = one_task(project, agents={"default": "codex", "profiles": {
        "codex": profile(codex, stall_timeout=4)}}, workers={"cooldown": 1})
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(add_file("greeting.txt", "hello"), faults=(server_error(), hang(2))),
        finish("done"))
    project.run(max_seconds=120)

    runs = project.runs(n)
    assert [r.outcome for r in runs] == ["rate_limited", "stalled", "succeeded"]
    assert "high demand" in (runs[0].error or "") or "500" in (runs[0].error or "")
    assert project.tasks(n)["t1"].attempts == 2
    assert project.issue_state(n) == "done"


def test_codex_works_inside_bwrap_with_its_own_sandbox_nested_and_reaches_no_secret(
        guarded: Guarded, model_server: ModelServer, codex: list[str]) -> None:
    """``sandbox: bwrap``: Codex runs boxed as worker and reviewer, with CODEX_HOME in the
    run's private HOME; its own sandbox still works inside ours (its commands cannot write
    even that HOME), its edits land in a pull request, and the user's SSH key is out of
    reach although Codex's sandbox lets its commands read everywhere."""
    require_bwrap()
    project = guarded.project
    users_codex_home = Path(os.environ["CODEX_HOME"])  # passed by pass_env: not used boxed
    project.configure(sandbox="bwrap", review={"judge": "codex"},
                      agents={"default": "codex", "profiles": {"codex": profile(codex)}})
    n = project.file_issue("Greet", "- [ ] Write the greeting\n")
    probe = (f"{{ cat {guarded.key} 2>/dev/null || echo no-key; }} > attacks.txt; "
             f"{{ echo x > {project.root}/escaped.txt && echo escaped || echo not-escaped; }} "
             ">> attacks.txt 2>/dev/null; "
             '{ echo x > "$HOME/inner" && echo home-writable || echo home-read-only; } '
             '>> attacks.txt 2>/dev/null; echo "codex_home=$CODEX_HOME" >> attacks.txt')
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(add_file("greeting.txt", "hello")), act(tool("exec_command", cmd=probe)),
        finish("greeting written")).add("# The task: Write the greeting", verdict(True))

    project.run(max_seconds=150)

    assert project.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert git(project.root, "show", f"{branch}:greeting.txt") == "hello"
    [pr] = project.prs()
    assert not pr["draft"]
    runs = project.runs(n)
    assert [(r.kind, r.outcome) for r in runs] == [("work", "succeeded"), ("judge", "succeeded")]
    assert git(project.root, "show", f"{branch}:attacks.txt").splitlines() == [
        "no-key", "not-escaped", "home-read-only", f"codex_home={runs[0].run_dir}/home/.codex"]
    for r in runs:
        assert json.loads((Path(r.run_dir) / "spec.json").read_text())["agent"]["sandbox"] \
            == "bwrap"
    assert guarded.secret.strip() not in json.dumps(model_server.bodies)
    assert not (project.root / "escaped.txt").exists()
    assert not any(users_codex_home.iterdir())  # its state stayed in the private HOME
    assert model_server.script.exhausted == []
