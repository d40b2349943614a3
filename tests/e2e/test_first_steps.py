"""The small things of a first run (issue 13, item 9): ``init`` never writes a made-up
GitHub repository and never ignores an option in silence; shell completion works."""
from __future__ import annotations

import os
import subprocess
import sys

from support.agents import agent_argv
from support.repos import git, make_repo


def shiftctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiftctl", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_init_github_with_a_non_github_origin_asks_for_the_repo(tmp_path) -> None:
    repo = make_repo(tmp_path / "r")
    git(repo, "remote", "add", "origin", "https://gitlab.example.com/acme/widgets.git")
    bad = shiftctl("-C", str(repo), "init", "--tracker", "github")
    assert bad.returncode != 0 and "not a github.com URL" in bad.stderr
    assert "--repo owner/name" in bad.stderr and not (repo / "shiftctl.yaml").exists()
    ok = shiftctl("-C", str(repo), "init", "--tracker", "github", "--repo", "acme/widgets")
    assert ok.returncode == 0, ok.stderr
    assert "repo: acme/widgets" in (repo / "shiftctl.yaml").read_text()
    wrong = shiftctl("-C", str(repo), "init", "--tracker", "github", "--repo", "widgets",
                     "--force")
    assert wrong.returncode != 0 and "'widgets' is not owner/name" in wrong.stderr


def test_init_over_an_existing_file_refuses_options_it_would_ignore(tmp_path) -> None:
    repo = make_repo(tmp_path / "r")
    assert shiftctl("-C", str(repo), "init").returncode == 0
    before = (repo / "shiftctl.yaml").read_text()
    bad = shiftctl("-C", str(repo), "init", "--tracker", "github", "--repo", "acme/x")
    assert bad.returncode != 0
    assert "--tracker github and --repo acme/x would change it" in bad.stderr
    assert "--force" in bad.stderr and (repo / "shiftctl.yaml").read_text() == before
    forced = shiftctl("-C", str(repo), "init", "--tracker", "github", "--repo", "acme/x",
                      "--force")
    assert forced.returncode == 0 and "repo: acme/x" in (repo / "shiftctl.yaml").read_text()


def test_shell_completion_scripts_are_produced_and_complete_commands() -> None:
    for shell, words in [("bash", "complete -o nosort -F"), ("zsh", "#compdef shiftctl"),
                         ("fish", "complete --no-files --command shiftctl")]:
        out = shiftctl(env={**os.environ, "_SHIFTCTL_COMPLETE": f"{shell}_source"})
        assert out.returncode == 0 and words in out.stdout, (shell, out.stdout[:300])
    env = {**os.environ, "_SHIFTCTL_COMPLETE": "bash_complete", "COMP_WORDS": "shiftctl sup",
           "COMP_CWORD": "1"}
    done = shiftctl(env=env)
    assert "plain,supervise" in done.stdout.splitlines(), done.stdout


def test_doctor_in_a_repository_without_commits_asks_for_a_first_commit(tmp_path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    assert shiftctl("-C", str(repo), "init").returncode == 0
    doctor = shiftctl("-C", str(repo), "doctor")
    line = next(x for x in doctor.stdout.splitlines() if "base branch" in x)
    assert line.startswith("FAIL") and "no commits yet: make a first commit" in line, line
    assert "set base_branch" not in doctor.stdout
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    git(repo, "branch", "-m", "trunk")
    doctor = shiftctl("-C", str(repo), "doctor")
    assert "'main' does not exist (set base_branch" in doctor.stdout


def test_after_a_question_the_issue_comment_asks_for_an_answer_not_a_retry(project) -> None:
    """The "needs a human" comment that follows a question said "Reply `/retry TASK`",
    contradicting the question's "reply to answer"."""
    status_q = '{"status": "blocked", "question": "Which colour should the button be?"}'
    project.configure(agents={"default": "asker", "profiles": {"asker": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_STATUS": status_q}}}})
    n = project.file_issue("Paint it", "- [ ] paint the button\n")
    project.run()
    assert project.tasks(n)["t1"].reason.startswith("question:")
    stuck = [c["body"] for c in project.issue(n)["comments"] if "shiftctl:stuck:" in c["body"]]
    assert len(stuck) == 1
    assert "Task(s) t1 asked a question (above): reply on this issue to answer it" in stuck[0]
    assert "/retry" not in stuck[0]
