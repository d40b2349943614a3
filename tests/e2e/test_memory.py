"""Memory in the loop: episodes from real runs, prompts that carry memory, the memory CLI."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from shiftctl.admin.briefing.recall import recall
from shiftctl.admin.briefing.work import kept_commits
from shiftctl.admin.config import ConfigError, parse
from shiftctl.admin.cycle import ladder
from shiftctl.admin.cycle.lock import AdminLock
from shiftctl.memory import episodes, lessons
from shiftctl.memory.store import Issue, Run, Store, Task

from support.agents import agent_argv
from support.project import Project

GUARD = (f"{sys.executable} -c \"import pathlib,sys; "
         "sys.exit('CHECK-SAYS: broken.txt must not exist') "
         "if pathlib.Path('broken.txt').exists() else None\"")
BROKEN = "- [ ] Break it\n  ```sh\n  echo 'error: about to break' \n  echo x > broken.txt\n  ```\n"
GOOD = "- [ ] Fine\n  ```sh\n  echo ok > ok.txt\n  ```\n"


def scripted(project: Project, env: dict[str, str], **extra) -> None:
    project.configure(agents={"default": "bot", "profiles": {"bot": {
        "kind": "command", "argv": agent_argv("scripted.py"), "env": env}}}, **extra)


def prompts(project: Project, issue: int) -> list[str]:
    return [(Path(r.run_dir) / "prompt.md").read_text() for r in project.runs(issue)]


def test_every_finished_run_is_an_episode_and_retries_know_what_came_before(
        project: Project) -> None:
    project.configure(checks=[{"name": "guard", "run": GUARD, "timeout": 60}],
                      workers={"max_attempts": 2})
    bad = project.file_issue("Break the thing", BROKEN)
    good = project.file_issue("A fine thing", GOOD)
    project.run()
    store = project.store()
    try:
        runs = [r for r in store.runs() if r.ended_at and r.kind == "work"]
        eps = {e.run_id: e for e in episodes.recent(store.conn, 100)}
        assert set(eps) == {r.id for r in runs}
        failed = [eps[r.id] for r in runs if r.issue == bad]
        assert [e.outcome for e in failed] == ["rejected", "rejected"]
        first = failed[0]
        assert first.title == "Break it" and first.files == ["broken.txt"]
        assert first.checks == [{"name": "guard", "passed": False,
                                 "line": "CHECK-SAYS: broken.txt must not exist"}]
        assert "check guard failed: CHECK-SAYS: broken.txt must not exist" in first.failures
        assert "shell step 1/1" in first.facts and "error: error: about to break" in first.facts
        merged = [eps[r.id] for r in runs if r.issue == good]
        assert [(e.outcome, e.merged) for e in merged] == [("succeeded", 1)]
    finally:
        store.close()
    # working memory: the retry is told what the first attempt did and what it kept
    retry = prompts(project, bad)[1]
    kept = project.runs(bad)[0].commits[0][:10]
    assert f"Your branch already holds the earlier work: commits {kept}" in retry
    assert "Changed: broken.txt" in retry and "  - shell step 1/1" in retry
    assert "CHECK-SAYS: broken.txt must not exist" in retry
    found = project.cli_json("memory", "search", "Break it")
    assert {e["run_id"] for e in found["episodes"]} == {e.run_id for e in failed}


def test_kept_commits_survive_a_crash_but_not_a_merge_conflict() -> None:
    def run(n: int, commits: list[str], error: str = "") -> Run:
        return Run(id=f"r{n}", issue=1, started_at=n, attempt=n, commits=commits, error=error)
    assert kept_commits([]) == []
    assert kept_commits([run(1, ["a"]), run(2, [], "crashed")]) == ["a"]
    assert kept_commits([run(1, ["a"]), run(2, ["a", "b"])]) == ["a", "b"]
    assert kept_commits([run(1, ["a"], "merge conflict in x.py"), run(2, [])]) == []


def test_idle_stays_idle_distillation_runs_once_per_batch_of_new_episodes(
        project: Project) -> None:
    project.configure(sleep={"idle": 1800, "busy": 300, "after_action": 5})
    project.file_issue("Work", GOOD)
    project.run()
    distils = [e for e in project.cli("events", "--json").stdout.splitlines()
               if '"memory.distil"' in e]
    assert len(distils) == 1
    for _ in range(3):
        result = project.cycle()
        assert (result.rung, result.actions, result.sleep_s) == ("sleep", [], 1800)


def test_with_memory_off_nothing_is_distilled_or_shown_but_episodes_are_kept(
        project: Project) -> None:
    project.configure(memory={"enabled": False})
    project.cli("memory", "add", "Say hello first")
    n = project.file_issue("Work", GOOD)
    project.run()
    assert "Lessons from earlier work" not in prompts(project, n)[0]
    events = project.cli("events", "--json").stdout
    assert '"memory.distil"' not in events
    assert len(project.cli_json("memory", "list", "--episodes")) == 1


def test_lessons_added_by_a_person_reach_the_prompt_and_count_their_help(
        project: Project) -> None:
    assert project.cli_json("memory", "list") == []  # before any state exists
    out = project.cli("memory", "add", "Run make fmt before committing").stdout
    assert out.strip() == "lesson 1 added"  # applied at once: the lock was free
    assert project.cli("memory", "add", "run make fmt  before committing").stdout.strip() == \
        "lesson 1 exists"  # the same advice, differently spaced: still one lesson, unchanged
    n = project.file_issue("Tidy", GOOD)
    project.run()
    assert "- Run make fmt before committing" in prompts(project, n)[0]
    (lesson,) = project.cli_json("memory", "list")
    assert (lesson["shown"], lesson["helped"], lesson["kind"]) == (1, 1, "human")
    assert lesson["source"] == "cli:alice"
    shown = project.cli("memory", "show", "1").stdout
    assert "shown 1 times, helped 1" in shown
    assert project.cli_json("memory", "show", "1")["effect"] == pytest.approx(2 / 3, abs=1e-3)
    episode = project.cli_json("memory", "list", "--episodes")[0]
    assert project.cli_json("memory", "show", episode["ref"])["run_id"] == episode["run_id"]


def test_memory_changes_wait_in_the_queue_while_a_cycle_holds_the_lock(
        project: Project) -> None:
    project.cycle()
    lock = AdminLock(project.root / ".shiftctl" / "admin.lock")
    assert lock.acquire()
    try:
        out = project.cli("memory", "add", "Prefer small commits").stdout
        assert "queued" in out
        assert project.cli_json("memory", "list") == []
    finally:
        lock.release()
    result = project.cycle()
    assert any("memory_add" in a and "lesson 1 added" in a for a in result.actions)
    assert [x["text"] for x in project.cli_json("memory", "list")] == ["Prefer small commits"]
    assert project.cli("memory", "retire", "1", "--reason", "too vague").stdout.strip() == \
        "lesson 1 retired"
    assert project.cli_json("memory", "list") == []
    (retired,) = project.cli_json("memory", "list", "--all")
    assert retired["state"] == "retired" and retired["retired_reason"] == "too vague"
    missing = project.cli("memory", "retire", "7", check=False)
    assert missing.returncode != 0 and "no lesson 7" in missing.stderr
    bad = project.cli("memory", "show", "x1", check=False)
    assert bad.returncode != 0 and "not a memory id" in bad.stderr
    assert project.cli("memory", "show", "e9", check=False).returncode != 0
    assert project.cli("memory", "add", "   ", check=False).returncode != 0
    events = project.cli("events").stdout
    assert "lesson.new" in events and "lesson.retire" in events


def merge_pr(project: Project, issue: int) -> None:
    """A person merges the issue's pull request (a real git merge into main)."""
    (pr,) = [p for p in project.prs() if p["issue"] == issue]
    project.cli("pr", "merge", str(pr["number"]))


def test_agent_learnings_become_lessons_once_accepted_for_matching_tasks_only(
        project: Project) -> None:
    scripted(project, {"AGENT_WRITE": "{task}.txt:x",
                       "AGENT_LEARN": "The widgets registry must list every new widget"})
    first = project.file_issue("widgets knob", "Add a knob widget.")
    project.run()
    assert project.cli_json("memory", "list") == []  # its PR waits for a person
    merge_pr(project, first)
    project.run()
    assert project.issue_state(first) == "closed"
    (learned,) = project.cli_json("memory", "list")
    assert learned["kind"] == "learning"
    later = project.file_issue("widgets dial", "Add a dial widget.")
    other = project.file_issue("database migrations", "Speed up the migration tool.")
    project.run()
    assert learned["text"] in prompts(project, later)[0]
    assert learned["text"] not in prompts(project, other)[0]


def test_conventions_are_in_every_prompt_and_in_the_context_hash(project: Project) -> None:
    (project.root / "AGENTS.md").write_text("SOP-RULE-42: write tests first.\n")
    context = project.root / ".shiftctl" / "context"
    context.mkdir(parents=True)
    (context / "style.md").write_text("CONTEXT-EXTRA: British spelling.\n")
    first = project.file_issue("One", GOOD)
    project.run()
    text = prompts(project, first)[0]
    assert "# Project conventions" in text and "## AGENTS.md" in text
    assert "SOP-RULE-42" in text and "CONTEXT-EXTRA" in text
    (project.root / "AGENTS.md").write_text("SOP-RULE-43: write tests first.\n" + "x" * 500)
    project.configure(memory={"context_chars": 100})
    second = project.file_issue("Two", GOOD)
    project.run()
    text = prompts(project, second)[0]
    assert "SOP-RULE-43" in text and "cut to fit memory.context_chars" in text
    assert "CONTEXT-EXTRA" not in text  # the budget was spent
    a, b = project.runs(first)[0], project.runs(second)[0]
    assert a.context_hash and b.context_hash and a.context_hash != b.context_hash
    assert a.prompt_hash != b.prompt_hash


def test_recall_respects_the_budgets(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    try:
        for i in range(5):
            lessons.add(store.conn, f"Lesson number {i}: " + "y" * 80, source="cli:a")
        issue = Issue(number=1, title="x", state="active")
        task = Task(id=1, issue=1, key="t1", title="anything", state="ready")

        def cfg(**memory):
            return parse({"memory": memory}, tmp_path)
        assert len(recall(cfg(), store, issue, task).lessons) == 5
        assert len(recall(cfg(max_lessons=2), store, issue, task).lessons) == 2
        assert len(recall(cfg(prompt_chars=250), store, issue, task).lessons) == 2
        assert recall(cfg(enabled=False), store, issue, task).lessons == []
    finally:
        store.close()


def test_memory_config_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"memory.enabled: 'yes' is not valid \(expected true"):
        parse({"memory": {"enabled": "yes"}}, Path("/r"))
    with pytest.raises(ConfigError, match=r"memory\.lesons: unknown key"):
        parse({"memory": {"lesons": 3}}, Path("/r"))
    assert parse({}, Path("/r")).memory.enabled is True


def test_maintenance_distils_only_when_memory_is_due() -> None:
    from shiftctl.admin.cycle.snapshot import Snapshot
    cfg = parse({"agents": {"default": "shell"}}, Path("/r"))
    idle = Snapshot(now=1.0, config=cfg)
    assert ladder.decide(idle).rung == "sleep"
    due = Snapshot(now=1.0, config=cfg, memory_due=True)
    decision = ladder.decide(due)
    assert (decision.rung, [a.verb for a in decision.actions]) == ("maintenance", ["distil"])


def test_memory_commands_print_json(project: Project) -> None:
    project.cli("memory", "add", "Use the fixtures")
    data = project.cli_json("memory", "search", "fixtures")
    assert [x["text"] for x in data["lessons"]] == ["Use the fixtures"]
    assert json.loads(project.cli("memory", "list", "--all", "--json").stdout)[0]["id"] == 1
