"""What the sandbox settings mean and what the bwrap command line shows the agent, as data:
``auto`` resolved, secrets hidden before anything is shown again, no capabilities."""
from __future__ import annotations

from pathlib import Path

import pytest

from shiftctl.admin.config import ConfigError, parse
from shiftctl.system import sandbox
from shiftctl.system.sandbox import Box, SandboxError, decide, install_root, safe_exposures


def test_auto_is_bwrap_where_it_works_and_none_with_the_reason_where_not() -> None:
    works = decide("auto", None)
    assert (works.kind, works.reason, works.error) == ("bwrap", "auto: bubblewrap works here",
                                                      None)
    broken = decide("auto", "bubblewrap (bwrap) is not installed")
    assert broken.kind == "none" and broken.error is None
    assert broken.reason == ("auto: agents run unsandboxed because bubblewrap (bwrap) is not "
                             "installed")


def test_none_only_when_set_and_bwrap_never_degrades() -> None:
    assert decide("none", None).kind == "none"
    assert "set explicitly" in decide("none", None).reason
    required = decide("bwrap", "no user namespaces")
    assert required.kind == "bwrap" and required.error == (
        "requires sandbox bwrap, but no user namespaces")
    with pytest.raises(sandbox.SandboxError, match="unknown sandbox 'off'"):
        decide("off", None)


def test_the_config_defaults_to_auto_and_names_a_bad_value_by_its_key(tmp_path: Path) -> None:
    assert parse({}, tmp_path).sandbox == "auto"
    with pytest.raises(ConfigError, match=r"sandbox: 'off' is not valid \(expected one of "
                                          r"auto, bwrap, none\)"):
        parse({"sandbox": "off"}, tmp_path)
    with pytest.raises(ConfigError, match=r"agents\.profiles\.x\.sandbox: 'yes'"):
        parse({"agents": {"profiles": {"x": {"kind": "shell", "sandbox": "yes"}}}}, tmp_path)
    with pytest.raises(ConfigError, match=r"sandbox_expose: 'relative/dir' is not valid"):
        parse({"sandbox_expose": ["relative/dir"]}, tmp_path)


def test_sandbox_expose_takes_absolute_and_home_relative_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/alice")
    cfg = parse({"sandbox_expose": ["~/.pyenv", "/opt/tools/"]}, tmp_path)
    assert cfg.sandbox_expose == ("/home/alice/.pyenv", "/opt/tools")


def box(tmp_path: Path, **kw: object) -> Box:
    (tmp_path / "wt").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    return Box(worktree=tmp_path / "wt", home=tmp_path / "home", **kw)  # type: ignore[arg-type]


def positions(argv: list[str], flag: str) -> list[int]:
    return [i for i, a in enumerate(argv) if a == flag]


def test_the_masks_come_first_then_what_is_shown_again_then_home_and_worktree(
        tmp_path: Path) -> None:
    """Later mounts cover earlier ones at the same path: if a mask came after a bind, it
    would hide the worktree; if it came before nothing, it would hide nothing."""
    tool = tmp_path / "hidden" / "tools"
    tool.mkdir(parents=True)
    git_dir = tmp_path / "repo.git"
    git_dir.mkdir()
    b = box(tmp_path, hidden=(tmp_path / "hidden",), expose=(tool,), read_only=(git_dir,),
            secret_files=(Path("/etc/shadow"),), euid=1000)
    argv = b.argv(["agent", "--go"])
    i_mask = argv.index(str(tmp_path / "hidden"))
    i_secret = argv.index("/etc/shadow")
    i_tool = argv.index(str(tool))
    i_git = argv.index(str(git_dir))
    i_home = argv.index(str(tmp_path / "home"))
    i_wt = argv.index(str(tmp_path / "wt"))
    assert argv[i_mask - 1] == "--tmpfs" and argv[i_tool - 1] == argv[i_git - 1] == "--ro-bind"
    assert argv[i_home - 1] == argv[i_wt - 1] == "--bind"
    assert i_mask < i_secret < i_tool < i_git < i_home < i_wt
    assert argv[argv.index("--") + 1:] == ["agent", "--go"]
    assert argv[argv.index("--chdir") + 1] == str(tmp_path / "wt")


def test_no_capabilities_own_namespaces_and_a_private_home_in_the_environment(
        tmp_path: Path) -> None:
    argv = box(tmp_path, euid=1000).argv(["agent"])
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
                 "--new-session"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--proc") + 1] == "/proc"  # a fresh /proc: no admin environ
    assert "--unshare-net" not in argv  # agents need their model API
    assert "--uid" not in argv  # an ordinary user stays who they are
    env = {argv[i + 1]: argv[i + 2] for i in positions(argv, "--setenv")}
    home = str(tmp_path / "home")
    assert env["HOME"] == home and env["XDG_CONFIG_HOME"] == f"{home}/.config"
    assert env["TMPDIR"] == "/tmp"


def test_a_root_started_agent_is_unprivileged_inside(tmp_path: Path) -> None:
    argv = box(tmp_path, euid=0).argv(["agent"])
    assert argv[argv.index("--uid") + 1] == argv[argv.index("--gid") + 1] == "65534"


def test_extra_writable_paths_come_before_the_worktree(tmp_path: Path) -> None:
    extra = tmp_path / "codex-home"
    extra.mkdir()
    argv = box(tmp_path, euid=1000).argv(["codex"], writable=[extra])
    assert argv.index(str(extra)) < argv.index(str(tmp_path / "wt"))
    assert argv[argv.index(str(extra)) - 1] == "--bind"


@pytest.mark.parametrize("inside", ["repo/.git", "repo/.git/hooks", "repo"])
def test_nothing_that_is_in_or_holds_the_git_dir_is_ever_made_writable(
        tmp_path: Path, inside: str) -> None:
    """The worker leaves changes to the shared git dir during a boxed run alone (a person's
    commit is not tampering) because no agent can make them: this holds only if no writable
    path reaches it, whatever a profile asks for (a CODEX_HOME there, say)."""
    git_dir = tmp_path / "repo" / ".git"
    (git_dir / "hooks").mkdir(parents=True)
    b = box(tmp_path, euid=1000, sealed=(git_dir,))
    with pytest.raises(SandboxError, match="git dir"):
        b.argv(["codex"], writable=[tmp_path / inside])
    assert str(tmp_path / "wt") in b.argv(["codex"], writable=[tmp_path / "codex-home"])


def test_hidden_places_keep_the_outermost_and_skip_tmp(tmp_path: Path) -> None:
    outer = tmp_path.parent  # under /tmp in the tests: private already, so left out
    assert all(not str(p).startswith("/tmp/") for p in sandbox.hidden_places(str(outer)))
    found = sandbox.hidden_places(None, ["/usr/share", "/usr", "/"])
    assert Path("/usr") in found and Path("/root") in found
    assert Path("/usr/share") not in found and Path("/") not in found  # inside another; all


def test_nothing_that_contains_a_hidden_place_or_a_secret_is_shown_again(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    for d in ("bin", ".ssh", "proj/.shiftctl/runs", ".nvm/bin"):
        (home / d).mkdir(parents=True)
    runtime = home / "proj" / ".shiftctl"
    shown = safe_exposures([home, home / "bin", home / ".ssh", home / "proj", runtime / "runs",
                            home / ".nvm" / "bin", Path("/usr/bin")], [home], [runtime])
    assert shown == [home / "bin", home / ".nvm" / "bin"]


def test_a_cli_needs_its_outermost_node_modules_its_venv_or_its_prefix(
        tmp_path: Path) -> None:
    mods = tmp_path / "lib" / "node_modules"
    cli = mods / "@openai" / "codex" / "node_modules" / "x" / "bin" / "x.js"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    prefix = tmp_path / "py"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib").mkdir()
    assert install_root(cli) == mods
    assert install_root(venv / "bin" / "python") == venv
    assert install_root(prefix / "bin" / "python3.11") == prefix
    assert install_root(tmp_path / "versions" / "2.1.3") == tmp_path / "versions"


def test_an_npm_linked_cli_is_shown_with_its_package_and_its_node(tmp_path: Path) -> None:
    """``~/.nvm/versions/node/v22/bin/claude -> ../lib/node_modules/.../cli.js`` with
    ``#!/usr/bin/env node``: the link's directory, the node_modules and node's prefix."""
    prefix = tmp_path / "nvm" / "v22"
    bin_dir, mods = prefix / "bin", prefix / "lib" / "node_modules"
    pkg = mods / "@anthropic-ai" / "claude-code"
    pkg.mkdir(parents=True)
    bin_dir.mkdir()
    (pkg / "cli.js").write_text("#!/usr/bin/env node\nconsole.log(1)\n")
    (pkg / "cli.js").chmod(0o755)
    node = bin_dir / "node"
    node.write_text("")
    node.chmod(0o755)
    (bin_dir / "claude").symlink_to(pkg / "cli.js")
    paths = set(sandbox.tool_paths("claude", str(bin_dir)))
    assert {bin_dir, mods, prefix} <= paths
