"""Conventions files are read from inside the repository only (shiftctl/system/inside.py and
admin/briefing/recall.py): a link out of it is skipped, on a real filesystem."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from shiftctl.admin.briefing.recall import context_files
from shiftctl.system import inside

from support.repos import make_repo

SENTINEL = "SENTINEL-ENV-VALUE-7f3a"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.mark.parametrize("target", ["/proc/self/environ", "/etc/passwd", "../outside.md",
                                    ".git/config", ".shiftctl/state.db", "/proc/self/cwd/x",
                                    "docs/../../outside.md"])
def test_a_conventions_file_linking_out_of_the_repository_is_skipped(
        repo: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIFTCTL_TEST_SENTINEL", SENTINEL)
    (repo.parent / "outside.md").write_text(f"OUTSIDE {SENTINEL}\n")
    (repo / ".shiftctl").mkdir(exist_ok=True)
    (repo / ".shiftctl" / "state.db").write_text(f"STATE {SENTINEL}\n")
    (repo / "AGENTS.md").symlink_to(target)
    (repo / "CONTRIBUTING.md").write_text("Be kind.\n")
    files, skipped = context_files(repo, 10_000)
    assert [f["name"] for f in files] == ["CONTRIBUTING.md"]
    assert all(SENTINEL not in f["text"] for f in files)
    (name, why), = skipped
    assert name == "AGENTS.md" and "symlink" in why


def test_an_absolute_link_to_a_file_inside_is_followed_like_a_relative_one(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "rules.md").write_text("RULES\n")
    (repo / "AGENTS.md").symlink_to("docs/rules.md")
    (repo / "CLAUDE.md").symlink_to(repo / "docs" / "rules.md")
    files, skipped = context_files(repo, 10_000)
    assert [(f["name"], f["text"]) for f in files] == [("AGENTS.md", "RULES"),
                                                       ("CLAUDE.md", "RULES")]
    assert skipped == []


def test_a_link_to_a_link_a_directory_a_fifo_or_through_a_linked_directory_is_refused(
        repo: Path, tmp_path: Path) -> None:
    (repo / "real.md").write_text("real\n")
    (repo / "hop.md").symlink_to("real.md")
    (repo / "AGENTS.md").symlink_to("hop.md")  # two hops: refused
    (repo / "CLAUDE.md").symlink_to("docs")
    (repo / "docs").mkdir()
    os.mkfifo(repo / "CONTRIBUTING.md")  # would block a plain open() for ever
    outside = tmp_path / "ctx"
    outside.mkdir()
    (outside / "x.md").write_text("OUTSIDE\n")
    (repo / ".shiftctl").mkdir(exist_ok=True)
    (repo / ".shiftctl" / "context").symlink_to(outside)
    files, skipped = context_files(repo, 10_000)
    assert files == []
    assert [name for name, _ in skipped] == ["AGENTS.md", "CLAUDE.md", "CONTRIBUTING.md"]
    with pytest.raises(inside.Refused, match="symlink or not a directory"):
        inside.read(repo, ".shiftctl/context/x.md", 100)


def test_context_directory_files_follow_the_same_rules(repo: Path) -> None:
    ctx = repo / ".shiftctl" / "context"
    ctx.mkdir(parents=True)
    (ctx / "style.md").write_text("STYLE\n")
    (ctx / "env.md").symlink_to("/proc/self/environ")
    (ctx / "db.md").symlink_to("../state.db")
    (ctx / "agents.md").symlink_to("../../AGENTS.md")
    (repo / "AGENTS.md").write_text("AGENTS\n")
    files, skipped = context_files(repo, 10_000)
    assert [f["name"] for f in files] == ["AGENTS.md", ".shiftctl/context/agents.md",
                                          ".shiftctl/context/style.md"]
    assert sorted(name for name, _ in skipped) == [".shiftctl/context/db.md",
                                                   ".shiftctl/context/env.md"]


def test_paths_that_leave_the_repository_are_refused_before_any_open(repo: Path) -> None:
    for rel in ("/etc/passwd", "../x", "a/../../x", "", "a\0b"):
        with pytest.raises(inside.Refused):
            inside.read(repo, rel, 10)
    assert inside.read(repo, "missing.md", 10) is None
    assert inside.read(repo, "missing/dir/x.md", 10) is None
    (repo / "big.md").write_text("x" * 1000)
    assert inside.read(repo, "big.md", 10) == b"x" * 10
