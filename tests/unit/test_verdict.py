"""The deterministic review rules, with plain data: paths, symlinks, limits, forbidden paths."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin.config import parse
from shiftctl.admin.review.rules import (
    DiffFacts,
    Policy,
    outside_paths,
    parse_raw,
    path_forbidden,
    policy_of,
    symlink_problem,
    verdict,
)

POLICY = policy_of(parse({"prompts_dir": "prompts"}, Path("/r")))


def facts(*files: str, **kw) -> DiffFacts:
    return DiffFacts(commits=["c1"], files=list(files), **kw)


def findings(f: DiffFacts, paths: tuple[str, ...] = (), policy: Policy = POLICY) -> list[str]:
    return verdict(f, policy, paths).findings


def test_an_ordinary_change_passes() -> None:
    assert verdict(facts("src/app.py", "README.md"), POLICY).passed


def test_every_forbidden_default_is_refused_at_any_depth() -> None:
    for path in ("shiftctl.yaml", "prompts/work.md.j2", ".shiftctl/state.db",
                 ".gitattributes", "src/deep/.gitattributes", ".gitmodules", "lib/.gitmodules",
                 ".github/workflows/ci.yml"):
        found = findings(facts("ok.py", path))
        assert len(found) == 1 and "forbidden_paths" in found[0] and path in found[0], path
    for path in ("docs/shiftctl.yaml.md", "prompts.py", ".github/CODEOWNERS", "a.gitattributes"):
        assert findings(facts(path)) == [], path


def test_path_patterns_directories_names_and_globs() -> None:
    assert path_forbidden("secrets/x", ["secrets/"]) and path_forbidden("secrets", ["secrets/"])
    assert not path_forbidden("secretsx/y", ["secrets/"])
    assert path_forbidden("a/b/key.pem", ["*.pem"]) and path_forbidden("key.pem", ["*.pem"])
    assert path_forbidden("conf/prod.env", ["conf/*.env"])
    assert not path_forbidden("other/prod.env", ["conf/*.env"])


def test_files_outside_the_task_paths_are_a_finding() -> None:
    assert outside_paths(["docs/a.md", "docs/x/y.md", "src/evil.py", "docsy.md"],
                         ["docs/"]) == ["src/evil.py", "docsy.md"]
    assert outside_paths(["app/health.py", "app/other.py"], ["./app/health.py"]) == \
        ["app/other.py"]
    assert outside_paths(["anything.py"], []) == []
    found = findings(facts("docs/a.md", "src/evil.py"), ("docs/",))
    assert found == ["changes files outside the task's paths (docs/): src/evil.py"]
    assert findings(facts("docs/a.md"), ("docs/",)) == []


def test_symlinks_that_leave_the_worktree_are_refused() -> None:
    assert symlink_problem("passwd", "/etc/passwd") == "an absolute target"
    assert symlink_problem("x", "../../x") == "a target outside the repository"
    assert symlink_problem("a/b/x", "../../../x") == "a target outside the repository"
    assert symlink_problem("a/x", "b/../../../x") == "a target outside the repository"
    assert symlink_problem("cfg", ".git/config") == "a target inside .git"
    assert symlink_problem("a/cfg", "../.GIT/hooks") == "a target inside .git"
    assert symlink_problem("x", "") is not None
    assert symlink_problem("a/b/x", "../../README.md") is None
    assert symlink_problem("docs/readme", "./guide/../README.md") is None
    found = findings(facts("passwd", "ok", symlinks=[("passwd", "/etc/passwd"),
                                                     ("ok", "README.md")]))
    assert found == ["adds symlinks that leave the worktree: passwd -> '/etc/passwd' "
                     "(an absolute target)"]


def test_limits_on_lines_files_and_bytes_binary_included() -> None:
    policy = Policy(forbidden_paths=(), max_diff_lines=10, max_files_changed=3,
                    max_bytes_added=100)
    assert findings(facts("a", "b", "c", diff_lines=10, bytes_added=100), policy=policy) == []
    many = findings(facts("a", "b", "c", "d"), policy=policy)
    assert many == ["the diff changes 4 files, more than review.max_files_changed (3); "
                    "split the task"]
    big = findings(facts("blob.bin", diff_lines=0, bytes_added=101), policy=policy)
    assert len(big) == 1 and "adds 101 bytes" in big[0] and "binary included" in big[0]
    assert "max_diff_lines" in findings(facts("a", diff_lines=11), policy=policy)[0]


def test_git_internals_and_submodules_are_refused() -> None:
    assert "under a .git directory" in findings(facts("vendor/.git/config"))[0]
    assert "gitlinks" in findings(facts("vendor/lib", gitlinks=["vendor/lib"]))[0]


def test_prompts_dir_is_forbidden_wherever_it_is_configured() -> None:
    root = Path("/r")
    assert "tpl/" in policy_of(parse({"prompts_dir": "tpl"}, root)).forbidden_paths
    assert "tpl/" in policy_of(parse({"prompts_dir": "/r/tpl/"}, root)).forbidden_paths
    outside = policy_of(parse({"prompts_dir": "/etc/tpl"}, root)).forbidden_paths
    assert not any("etc" in p for p in outside)
    assert policy_of(parse({"review": {"forbidden_paths": ["x/"]}}, root)).forbidden_paths == \
        ("x/",)


def test_raw_diff_entries_are_read_with_any_file_name() -> None:
    text = (":000000 100644 " + "0" * 40 + " " + "a" * 40 + " A\0dïr/.gitattributes\0"
            ":100644 000000 " + "b" * 40 + " " + "0" * 40 + " D\0gone\0"
            ":000000 120000 " + "0" * 40 + " " + "c" * 40 + " A\0tab\tname\0")
    got = [(e.status, e.new_mode, e.path) for e in parse_raw(text)]
    assert got == [("A", "100644", "dïr/.gitattributes"), ("D", "000000", "gone"),
                   ("A", "120000", "tab\tname")]
    assert "forbidden_paths" in findings(facts(*[e.path for e in parse_raw(text)]))[0]
