"""The git helper's pure policy (what it overrides, how it reads git's config listing) and
the architecture rule that nothing else in shiftctl starts git."""
from __future__ import annotations

import ast
from pathlib import Path

from shiftctl.system import git, gitpolicy
from shiftctl.system.gitpolicy import (
    ConfigEntry,
    hardened_args,
    include_targets,
    neutralise,
    parse_config_list,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("admin", "worker", "memory", "prompts", "shiftctl")
HELPER = ROOT / "shiftctl" / "system" / "git.py"
STARTERS = {"run", "Popen", "call", "check_call", "check_output", "system", "popen",
            "execv", "execvp", "execvpe", "execl", "execlp", "spawnv", "spawnvp",
            "create_subprocess_exec", "create_subprocess_shell", "getoutput", "getstatusoutput"}


def test_every_named_driver_gets_all_its_program_keys_overridden() -> None:
    found = dict(neutralise([
        "filter.Evil.clean", "diff.pdf.textconv", "merge.ours.driver",
        "credential.https://example.com.helper", "gpg.ssh.program", "pager.log",
        "remote.origin.uploadpack", "filter.a.b.process", "user.name", "core.bare"]))
    assert found == {
        "filter.Evil.clean": "", "filter.Evil.smudge": "", "filter.Evil.process": "",
        "filter.Evil.required": "false",
        "filter.a.b.clean": "", "filter.a.b.smudge": "", "filter.a.b.process": "",
        "filter.a.b.required": "false",
        "diff.pdf.textconv": "", "diff.pdf.command": "",
        "merge.ours.driver": gitpolicy.MERGE_FILE,
        "credential.https://example.com.helper": "",
        "gpg.ssh.program": "",
        "pager.log": "false",
        "remote.origin.uploadpack": "git-upload-pack",
        "remote.origin.receivepack": "git-receive-pack"}


def test_the_fixed_overrides_cover_every_single_named_program_key() -> None:
    fixed = {k.lower() for k, _ in gitpolicy.FIXED_OVERRIDES + gitpolicy.LAST_OVERRIDES}
    for key in ("core.hookspath", "core.fsmonitor", "core.sshcommand", "core.pager",
                "core.editor", "sequence.editor", "core.askpass", "core.gitproxy",
                "core.alternaterefscommand", "uploadpack.packobjectshook", "diff.external",
                "gpg.program", "credential.helper", "commit.gpgsign"):
        assert key in fixed, key
    assert dict(gitpolicy.FIXED_OVERRIDES)["core.hooksPath"] == "/dev/null"
    assert gitpolicy.LAST_OVERRIDES[-1] == ("credential.helper", "")


def test_gits_config_listing_is_read_with_origins_and_valueless_keys() -> None:
    raw = ("global\0file:/home/u/.gitconfig\0user.name\nA Person\0"
           "local\0file:.git/config\0core.bare\nfalse\0"
           "local\0file:.git/config\0filter.x.required\0"
           "command\0command line:\0core.hookspath\n/dev/null\0")
    assert parse_config_list(raw) == [
        ConfigEntry("global", "file:/home/u/.gitconfig", "user.name", "A Person"),
        ConfigEntry("local", "file:.git/config", "core.bare", "false"),
        ConfigEntry("local", "file:.git/config", "filter.x.required", None),
        ConfigEntry("command", "command line:", "core.hookspath", "/dev/null")]


def test_include_targets_resolve_as_git_resolves_them() -> None:
    entries = [ConfigEntry("local", "file:.git/config", "include.path", "extra.cfg"),
               ConfigEntry("global", "file:/home/u/.gitconfig", "includeif.onbranch:x.path",
                           "~/more.cfg"),
               ConfigEntry("local", "file:/r/.git/config", "includeIf.gitdir:/r/.path",
                           "/abs.cfg"),
               ConfigEntry("local", "file:.git/config", "user.name", "path")]
    assert include_targets(entries, Path("/r"), "/home/u") == [
        Path("/r/.git/extra.cfg"), Path("/home/u/more.cfg"), Path("/abs.cfg")]


def test_patch_rendering_commands_get_no_textconv_and_no_external_diff() -> None:
    assert hardened_args(["diff", "--stat", "a", "b"]) == [
        "diff", "--no-textconv", "--no-ext-diff", "--stat", "a", "b"]
    assert hardened_args([*git.IDENTITY, "log", "-1"]) == [
        *git.IDENTITY, "log", "--no-textconv", "--no-ext-diff", "-1"]
    assert hardened_args(["merge", "--no-ff", "x"]) == ["merge", "--no-ff", "x"]
    assert hardened_args(["--version"]) == ["--version"]


def starts_git(source: str) -> list[int]:
    """Lines of ``source`` that start a process whose program is git."""
    def is_git(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            word = node.value.strip().split(" ", 1)[0]
            return word == "git" or word.endswith("/git")
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            return is_git(node.elts[0])
        if isinstance(node, ast.Starred):
            return is_git(node.value)
        return False
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        args = [*node.args, *(k.value for k in node.keywords if k.arg in ("args", "argv"))]
        if name in STARTERS and args and is_git(args[0]):
            found.append(node.lineno)
    # an argv built first and started later: any list literal that begins with "git"
    found += [n.lineno for n in ast.walk(ast.parse(source))
              if isinstance(n, (ast.List, ast.Tuple)) and n.elts and is_git(n.elts[0])
              and isinstance(n.elts[0], ast.Constant)]
    return sorted(set(found))


def test_the_scan_finds_git_started_any_way() -> None:
    assert starts_git('import subprocess\nsubprocess.run(["git", "status"])\n') == [2]
    assert starts_git('import os\nos.system("git commit -am x")\n') == [2]
    assert starts_git('argv = ("git", "merge")\n\n\nPopen(argv)\n') == [1]
    assert starts_git('subprocess.Popen(args=["/usr/bin/git", "add"])\n') == [1]
    assert starts_git('subprocess.run(["gitk"]); subprocess.run(["python", "git"])\n') == []


def test_nothing_outside_the_git_helper_starts_git() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == HELPER:
                continue
            for line in starts_git(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], ("git must run through shiftctl.system.git (hardened env, hooks "
                             f"and program-running config off): {offenders}")
