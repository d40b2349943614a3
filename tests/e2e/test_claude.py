"""The real Claude Code CLI (``claude -p --output-format stream-json``) as planner, worker and
reviewer, against the scripted model server on 127.0.0.1: its Write/Edit tools really change
the worktree, and what it reports (cost, tokens, errors) is what shiftctl records."""
from __future__ import annotations

import json
import time
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
    say,
    server_error,
    tool,
    unauthorized,
    verdict,
)
from support.agents import agent_cli
from support.project import Project
from support.repos import git
from support.sandbox import Guarded, require_bwrap

PLAN = "You are planning work for shiftctl"


@pytest.fixture
def claude(project: Project, model_server: ModelServer,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI, with the variables a user exports for it (they reach the agent through the
    profile's ``pass_env``, never through shiftctl.yaml)."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model_server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    return agent_cli("claude")


def profile(cli: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "claude", "argv": [cli], "model": "sonnet", "max_turns": 8,
            "pass_env": ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"], **extra}


def reported(run: Any) -> dict[str, Any]:
    """The ``result`` event Claude Code printed for a run (from its agent.log)."""
    for line in reversed((Path(run.run_dir) / "agent.log").read_text().splitlines()):
        if line.startswith("{") and '"type":"result"' in line.replace(" ", ""):
            return json.loads(line)
    raise AssertionError(f"no result event in {run.run_dir}/agent.log")


def test_issue_to_pull_request_with_claude_planning_working_and_reviewing(
        project: Project, model_server: ModelServer, claude: str) -> None:
    project.configure(
        agents={"default": "claude", "profiles": {"claude": profile(claude)}},
        planner={"kind": "agent", "profile": "claude"}, review={"judge": "claude"},
        checks=[{"name": "greeting", "run": "grep -q hello greeting.txt", "timeout": 60}])
    n = project.file_issue("Greet people", "Add a greeting file and mention it in the README.")
    tasks = [
        {"id": "greet", "title": "Write the greeting", "body": "Create greeting.txt saying hello.",
         "success_criteria": ["greeting.txt says hello"], "depends_on": [],
         "paths": ["greeting.txt"]},
        {"id": "doc", "title": "Document the greeting", "body": "Mention it in README.md.",
         "success_criteria": ["README.md mentions greeting.txt"], "depends_on": ["greet"],
         "paths": ["README.md"]}]
    t1, t2 = project.worktree(n, "t1"), project.worktree(n, "t2")
    model_server.script = Script().add(PLAN, plan(*tasks)).add(
        "# Your task: Write the greeting",
        act(tool("Write", file_path=str(t1 / "greeting.txt"), content="hello\n")),
        finish("wrote greeting.txt")).add(
        "# Your task: Document the greeting",
        act(tool("Read", file_path=str(t2 / "README.md"))),
        act(tool("Edit", file_path=str(t2 / "README.md"), old_string="# target",
                 new_string="# target\n\nSee greeting.txt.")),
        finish("documented it")).add(
        "# The task: Write the greeting", verdict(True)).add(
        "# The task: Document the greeting", verdict(True))

    project.run(max_seconds=150)

    assert project.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert git(project.root, "show", f"{branch}:greeting.txt") == "hello"
    assert "See greeting.txt." in git(project.root, "show", f"{branch}:README.md")
    [pr] = project.prs()
    assert pr["head"] == branch and not pr["draft"]
    runs = project.runs(n)
    # the checks ran once more on the integrated branch (a worker; no agent) before "ready"
    assert [r.kind for r in runs] == ["plan", "work", "judge", "work", "judge", "verify"]
    assert all(r.outcome == "succeeded" for r in runs)
    assert runs[-1].subject == git(project.root, "rev-parse", branch)
    runs = runs[:-1]
    assert [r.verdict for r in runs if r.kind == "judge"] == ["pass", "pass"]
    for r in runs:  # recorded exactly as Claude Code reported them
        event = reported(r)
        usage = event["usage"]
        assert r.cost_usd == pytest.approx(event["total_cost_usd"]) and r.cost_usd > 0
        assert r.tokens_in == usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) \
            + usage.get("cache_creation_input_tokens", 0) > 0
        assert r.tokens_out == usage["output_tokens"] > 0
    status = project.cli_json("status")
    [issue] = status["issues"]
    assert issue["cost_usd"] == pytest.approx(sum(r.cost_usd for r in runs))
    assert not list((project.root / ".shiftctl" / "worktrees").glob("read-*"))
    assert model_server.script.exhausted == []


def one_task(project: Project, cli: str, **config: Any) -> int:
    profiles = config.pop("profiles", {"claude": profile(cli)})
    project.configure(agents={"default": "claude", "profiles": profiles}, **config)
    return project.file_issue("Greet", "- [ ] Write the greeting\n")


def greeting_turns(project: Project, n: int, **first: Any) -> list[Any]:
    path = project.worktree(n, "t1") / "greeting.txt"
    return [act(tool("Write", file_path=str(path), content="hello\n"), **first),
            finish("wrote it")]


def test_a_rate_limit_cools_the_profile_down_and_moves_the_task_to_its_fallback(
        project: Project, model_server: ModelServer, claude: str) -> None:
    fast_fail = {"CLAUDE_CODE_MAX_RETRIES": "0"}
    n = one_task(project, claude, profiles={
        "claude": profile(claude, fallback="backup", env=fast_fail),
        "backup": profile(claude, env=fast_fail)}, workers={"cooldown": 600})
    model_server.script = Script().add("# Your task: Write the greeting",
                                       *greeting_turns(project, n, faults=(rate_limited(),)))
    project.run(max_seconds=90)

    first, second = project.runs(n)
    assert (first.profile, first.outcome, first.counted) == ("claude", "rate_limited", 0)
    assert "429" in (first.error or "")
    assert (second.profile, second.outcome) == ("backup", "succeeded")
    assert project.tasks(n)["t1"].attempts == 1  # the rate limit spent no attempt
    s = project.store()
    try:
        until = float(s.get("cooldown:claude") or 0)
        events = [e for e in s.iter_events() if e["kind"] == "agent.cooldown"]
    finally:
        s.close()
    assert until > time.time() + 500  # recorded before anything else went to it
    assert events and events[0]["data"]["profile"] == "claude"
    assert project.issue_state(n) == "done"


def test_a_usage_limit_with_a_reset_time_is_honoured(
        project: Project, model_server: ModelServer, claude: str) -> None:
    reset = int(time.time()) + 7200
    n = one_task(project, claude, profiles={"claude": profile(
        claude, env={"CLAUDE_CODE_MAX_RETRIES": "0"})})
    limit = rate_limited()
    limit.body["error"]["message"] = f"Claude AI usage limit reached|{reset}"  # type: ignore[index]
    model_server.script = Script().add("# Your task: Write the greeting",
                                       *greeting_turns(project, n, faults=(limit,)))
    project.cycle_until(lambda: project.runs(n) and project.runs(n)[0].ended_at,
                        what="the rate-limited run to end")
    [run] = project.runs(n)
    assert run.outcome == "rate_limited"
    s = project.store()
    try:
        assert float(s.get("cooldown:claude") or 0) == reset
    finally:
        s.close()
    task = project.tasks(n)["t1"]
    assert task.state == "ready" and task.attempts == 0
    assert project.cli_json("status")["cooldowns"] == {"claude": reset}
    assert "Agent claude cools down after a rate limit" in project.cli("status").stdout
    rungs = [project.cycle().rung for _ in range(4)]
    assert "assign" not in rungs and rungs[-1] == "sleep"  # nothing goes to a cooling profile
    assert len(project.runs(n)) == 1


def test_a_refused_key_parks_the_task_at_once_and_starts_nothing_more_on_the_profile(
        project: Project, model_server: ModelServer, claude: str) -> None:
    """A revoked key (the provider answers 401): one run, no attempt spent, the task with a
    person at once and the other task never started on the refused profile; a person's
    /retry after fixing the key lets both finish."""
    p = project
    p.configure(agents={"default": "claude", "profiles": {"claude": profile(
        claude, env={"CLAUDE_CODE_MAX_RETRIES": "0"})}}, workers={"max_concurrent": 1})
    n = p.file_issue("Greet and part", "- [ ] (parallel) Write the greeting\n"
                                       "- [ ] (parallel) Write the farewell\n")
    farewell = p.worktree(n, "t2") / "farewell.txt"
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        *greeting_turns(p, n, faults=(unauthorized(),))).add(
        "# Your task: Write the farewell",
        act(tool("Write", file_path=str(farewell), content="bye\n")), finish("wrote it"))
    p.run(max_seconds=90)

    [run] = p.runs(n)  # the farewell never started: it could only fail the same way
    assert (run.outcome, run.counted) == ("unauthenticated", 0)
    assert "401" in (run.error or "") or "api key" in (run.error or "").lower()
    t1, t2 = p.tasks(n)["t1"], p.tasks(n)["t2"]
    assert (t1.state, t1.attempts, t2.state, t2.attempts) == (
        "needs_human", 0, "needs_human", 0)
    assert "refused the credentials of agent profile 'claude'" in (t2.reason or "")
    assert len(model_server.agent_requests("# Your task: Write the greeting")) == 1
    assert model_server.agent_requests("# Your task: Write the farewell") == []
    bodies = [c["body"] for c in p.issue(n)["comments"]]
    refused = [b for b in bodies if f"shiftctl:unauthenticated:{n}:t1:" in b]
    assert len(refused) == 1 and "No attempt was spent" in refused[0]
    assert "`claude`" in refused[0] and "/retry t1" in refused[0]
    assert [b for b in bodies if f"shiftctl:no_agent:{n}:t2:" in b]
    assert "its provider refused the credentials" in p.cli("status").stdout
    doctor = {f["name"]: f for f in json.loads(p.cli("doctor", "--json", check=False).stdout)}
    assert not doctor["refused claude"]["ok"] and "/retry" in doctor["refused claude"]["detail"]

    p.comment(n, "/retry t1")  # the key is fixed (the server accepts it from now on)
    p.comment(n, "/retry t2")
    p.run(max_seconds=90)
    assert {k: t.state for k, t in p.tasks(n).items()} == {"t1": "done", "t2": "done"}
    assert [r.outcome for r in p.runs(n)] == ["unauthenticated", "succeeded", "succeeded"]
    assert "refused the credentials" not in p.cli("status").stdout
    assert "refused claude" not in p.cli("doctor", "--json", check=False).stdout
    s = p.store()
    try:
        kinds = [e["kind"] for e in s.iter_events()]
    finally:
        s.close()
    assert kinds.count("agent.refused") == 1 and kinds.count("agent.refusal_cleared") == 1


def test_repeated_server_errors_are_an_outage_waited_out_without_spending_attempts(
        project: Project, model_server: ModelServer, claude: str) -> None:
    n = one_task(project, claude, profiles={"claude": profile(
        claude, env={"CLAUDE_CODE_MAX_RETRIES": "1"})}, workers={"cooldown": 1})
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        *greeting_turns(project, n, faults=(server_error(),) * 4))
    project.run(max_seconds=90)

    runs = project.runs(n)
    assert [r.outcome for r in runs] == ["rate_limited", "rate_limited", "succeeded"]
    assert all("500" in (r.error or "") for r in runs[:2])
    failed = [s for s in model_server.served if s.fault]
    assert len(failed) == 4  # two requests per run: Claude Code's one retry, then shiftctl's
    assert project.tasks(n)["t1"].attempts == 1
    assert project.issue_state(n) == "done"


def test_a_stream_that_hangs_mid_message_is_killed_as_stalled_and_retried(
        project: Project, model_server: ModelServer, claude: str) -> None:
    n = one_task(project, claude, profiles={"claude": profile(claude, stall_timeout=4)})
    model_server.script = Script().add("# Your task: Write the greeting",
                                       *greeting_turns(project, n, faults=(hang(3),)))
    started = time.monotonic()
    project.run(max_seconds=120)

    first, second = project.runs(n)
    assert first.outcome == "stalled" and second.outcome == "succeeded"
    assert "stall" in (first.error or "")
    assert time.monotonic() - started < 60  # killed by the stall timer, not a total timeout
    assert project.issue_state(n) == "done"


def test_a_malformed_status_block_fails_the_run_whatever_it_changed(
        project: Project, model_server: ModelServer, claude: str) -> None:
    n = one_task(project, claude, workers={"max_attempts": 1})
    path = project.worktree(n, "t1") / "greeting.txt"
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(tool("Write", file_path=str(path), content="hello\n")),
        say("Done.\n```shiftctl\n{\"status\": \"done\", \"summary\": \n```"))
    project.run(max_seconds=60)

    [run] = project.runs(n)
    assert run.outcome == "failed" and "malformed final output" in (run.error or "")
    assert project.tasks(n)["t1"].state == "needs_human"
    comments = [c["body"] for c in project.issue(n)["comments"]]
    assert sum("needs a human" in c and "malformed" in c for c in comments) == 1


@pytest.mark.parametrize("user", ["current", "nobody"])
def test_the_work_settings_let_claude_edit_and_run_commands_as_root_and_as_a_normal_user(
        tmp_path: Path, model_server: ModelServer, claude: str, user: str) -> None:
    """Claude Code refuses to skip permissions as root; ``acceptEdits`` with ``Bash`` among
    the allowed tools works for both (as root here, the normal user is ``nobody``)."""
    import os
    import shutil
    import subprocess
    import tempfile

    from shiftctl.worker.agents.claude import ENV_DEFAULTS, argv
    from shiftctl.worker.spec import AgentSpec

    prefix: list[str] = []
    base = tmp_path
    if user == "nobody":
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("runs as an ordinary user already: the other tests cover it")
        base = Path(tempfile.mkdtemp(prefix="shiftctl-nobody-"))
        os.chmod(base, 0o755)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    wt, home = base / "wt", base / "claude-home"
    wt.mkdir()
    home.mkdir()
    if prefix:
        for p in (wt, home):
            os.chown(p, 65534, 65534)
    model_server.script = Script().add(
        "make the greeting",
        act(tool("Write", file_path=str(wt / "greeting.txt"), content="hello\n")),
        act(tool("Bash", command="mkdir -p out && python3 -c \"print(6 * 7)\" > out/answer.txt",
                 description="compute")),
        finish("ok"))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **ENV_DEFAULTS,
           "ANTHROPIC_BASE_URL": model_server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    cmd = prefix + argv(AgentSpec(profile="claude", kind="claude", argv=[claude], max_turns=5))
    try:
        proc = subprocess.run(cmd, input="Please make the greeting.", cwd=wt, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["is_error"] is False and result["permission_denials"] == []
        assert (wt / "greeting.txt").read_text() == "hello\n"
        assert (wt / "out" / "answer.txt").read_text().strip() == "42"
    finally:
        if base is not tmp_path:
            shutil.rmtree(base, ignore_errors=True)


def attack(g: Guarded) -> str:
    """A shell command an agent's tool runs: steal the key, plant a file in the real HOME,
    write outside the worktree; each attempt's outcome goes to attacks.txt (committed). (A
    plant "succeeds" inside bwrap, into the empty stand-in for HOME: the host never sees it.)"""
    return (f"{{ cat {g.key} 2>/dev/null || echo no-key; }} > attacks.txt; "
            f"echo x > {g.home}/planted 2>/dev/null; "
            f"{{ echo x > {g.project.root}/escaped.txt && echo escaped || echo not-escaped; }} "
            '>> attacks.txt 2>/dev/null; echo "home=$HOME" >> attacks.txt')


def test_claude_works_inside_bwrap_with_a_private_home_and_reaches_no_secret(
        guarded: Guarded, model_server: ModelServer, claude: str) -> None:
    """``sandbox: auto`` where bwrap works: Claude Code runs boxed as worker and reviewer,
    its edits land in a pull request, and its tools reach neither the user's SSH key nor
    anything outside the worktree."""
    require_bwrap()
    project = guarded.project
    project.configure(sandbox="auto", review={"judge": "claude"},
                      agents={"default": "claude", "profiles": {"claude": profile(claude)}})
    n = project.file_issue("Greet", "- [ ] Write the greeting\n")
    wt = project.worktree(n, "t1")
    model_server.script = Script().add(
        "# Your task: Write the greeting",
        act(tool("Write", file_path=str(wt / "greeting.txt"), content="hello\n")),
        act(tool("Bash", command=attack(guarded), description="probe")),
        act(tool("Read", file_path=str(guarded.key))),
        finish("wrote it")).add("# The task: Write the greeting", verdict(True))

    project.run(max_seconds=150)

    assert project.issue_state(n) == "done"
    branch = f"shiftctl/issue-{n}"
    assert git(project.root, "show", f"{branch}:greeting.txt") == "hello"
    [pr] = project.prs()
    assert pr["head"] == branch and not pr["draft"]
    runs = project.runs(n)
    assert [(r.kind, r.outcome) for r in runs] == [("work", "succeeded"), ("judge", "succeeded")]
    assert git(project.root, "show", f"{branch}:attacks.txt").splitlines() == [
        "no-key", "not-escaped", f"home={runs[0].run_dir}/home"]
    for r in runs:
        spec = json.loads((Path(r.run_dir) / "spec.json").read_text())
        assert spec["agent"]["sandbox"] == "bwrap"
    assert guarded.secret.strip() not in json.dumps(model_server.bodies)  # never to the model
    assert not (guarded.home / "planted").exists()
    assert not (project.root / "escaped.txt").exists()
    assert model_server.script.exhausted == []
