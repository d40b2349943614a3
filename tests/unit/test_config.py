"""shiftctl.yaml: found by walking up, defaults filled in, every error names key and value."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftctl.admin.config import ConfigError, default_text, find, load, parse


def test_defaults_match_the_design() -> None:
    cfg = parse({}, Path("/r"))
    assert cfg.base_branch == "main"
    assert cfg.tracker.kind == "local" and cfg.tracker.intake_label == "shiftctl"
    assert cfg.agents.default == "claude"
    assert set(cfg.agents.profiles) >= {"claude", "codex", "shell"}
    assert cfg.workers.max_concurrent == 4 and cfg.workers.max_attempts == 3
    assert cfg.workers.task_timeout == 3600 and cfg.workers.stall_timeout == 600
    assert (cfg.workers.backoff_base, cfg.workers.backoff_cap) == (10, 300)
    assert (cfg.sleep.after_action, cfg.sleep.busy, cfg.sleep.idle, cfg.sleep.wake_check) == \
        (5, 300, 1800, 30)
    assert cfg.approval.plans == "auto"
    assert (cfg.limits.max_depth, cfg.limits.max_tasks_per_issue,
            cfg.limits.max_runs_per_issue) == (2, 50, 30)
    assert cfg.review.forbidden_paths == (".github/workflows/", ".shiftctl/", "shiftctl.yaml",
                                          ".gitattributes", ".gitmodules")
    assert (cfg.review.max_diff_lines, cfg.review.max_files_changed,
            cfg.review.max_bytes_added) == (5000, 500, 20 * 1024 * 1024)
    assert cfg.budget.usd_per_issue == 10 and cfg.budget.usd_per_day == 100
    assert (cfg.memory.backup_interval, cfg.memory.backup_keep) == (6, 5)


def test_found_by_walking_up(tmp_path: Path) -> None:
    (tmp_path / "shiftctl.yaml").write_text("base_branch: trunk\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find(deep) == tmp_path / "shiftctl.yaml"
    assert load(deep).base_branch == "trunk"
    assert load(deep).root == tmp_path.resolve()


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shiftctl init"):
        find(tmp_path)


@pytest.mark.parametrize("doc, key, words", [
    ({"workers": {"max_concurrent": "many"}}, "workers.max_concurrent", ["'many'", "1..64"]),
    ({"workers": {"max_concurent": 3}}, "workers.max_concurent", ["unknown key", "max_concurrent"]),
    ({"tracker": {"kind": "jira"}}, "tracker.kind", ["'jira'", "local, github"]),
    ({"approval": {"plans": "sometimes"}}, "approval.plans", ["auto, always, over_budget"]),
    ({"agents": {"default": "nobody"}}, "agents.default", ["'nobody'", "not a profile"]),
    ({"agents": {"profiles": {"x": {"kind": "command"}}}}, "agents.profiles.x.argv", ["missing"]),
    ({"agents": {"profiles": {"x": {"kind": "robot"}}}}, "agents.profiles.x.kind", ["'robot'"]),
    ({"checks": [{"name": "t"}]}, "checks[0]", ["'run'"]),
    ({"checks": [{"name": "t", "cmd": "pytest"}]}, "checks[0].cmd",
     ["unknown key (did you mean 'run'?)"]),
    ({"checks": "pytest"}, "checks", ["'pytest'"]),
    ({"sleep": {"idle": -1}}, "sleep.idle", ["-1"]),
    ({"tracker": {"kind": "github"}}, "tracker.github.repo", ["missing"]),
    ({"tracker": {"github": {"repo": "noslash"}}}, "tracker.github.repo", ["owner/name"]),
    ({"agents": {"profiles": {"claude": {"kind": "claude", "pass_env": ["GITHUB_TOKEN"]}}}},
     "agents.profiles.claude.pass_env", ["tracker token"]),
    ({"planner": {"kind": "agent", "profile": "ghost"}}, "planner.profile", ["'ghost'"]),
    ({"workers": 5}, "workers", ["mapping"]),
    ({"review": {"max_files_changed": 0}}, "review.max_files_changed", ["0", "1..10000000"]),
    ({"review": {"max_bytes_added": "20MB"}}, "review.max_bytes_added", ["'20MB'", "integer"]),
    ({"review": {"max_bytes": 1}}, "review.max_bytes", ["unknown key", "max_bytes_added"]),
    ({"memory": {"backup_interval": "daily"}}, "memory.backup_interval", ["'daily'", "0..8760"]),
    ({"memory": {"backup_interval": -1}}, "memory.backup_interval", ["-1"]),
    ({"memory": {"backup_keep": 0}}, "memory.backup_keep", ["0", "1..1000"]),
])
def test_errors_name_the_key_the_value_and_what_is_expected(doc, key, words) -> None:
    with pytest.raises(ConfigError) as err:
        parse(doc, Path("/r"))
    message = str(err.value)
    assert message.startswith(f"shiftctl.yaml: {key}"), message
    for w in words:
        assert w in message, message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "shiftctl.yaml").write_text("base_branch: main\nworkers: {max_concurrent: 3\n")
    with pytest.raises(ConfigError, match=r"line \d+.*not valid YAML"):
        load(tmp_path)


def test_written_default_config_loads(tmp_path: Path) -> None:
    for kind in ("local", "github"):
        (tmp_path / "shiftctl.yaml").write_text(default_text(tracker=kind, author="bob",
                                                             repo="acme/widgets"))
        cfg = load(tmp_path)
        assert cfg.tracker.kind == kind


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                      | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
keys = st.sampled_from(["base_branch", "tracker", "agents", "planner", "review", "checks",
                        "workers", "budget", "sleep", "approval", "limits", "sandbox", "junk"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_any_document_loads_or_fails_with_a_config_error(doc) -> None:
    try:
        parse(doc, Path("/r"))
    except ConfigError as exc:
        assert str(exc).startswith("shiftctl.yaml: ")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_file_loads_or_fails_with_a_config_error(tmp_path_factory, text) -> None:
    d = tmp_path_factory.mktemp("cfg")
    (d / "shiftctl.yaml").write_text(text)
    try:
        load(d)
    except ConfigError as exc:
        assert "shiftctl.yaml" in str(exc)


def test_the_parsers_defaults_are_the_dataclasses_defaults() -> None:
    """Defaults live in the dataclasses; the parser names each again where it reads the key.
    An empty file must give exactly the dataclasses' defaults, section by section."""
    import dataclasses

    cfg = parse({}, Path("/r"))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and f.name != "agents":
            assert value == type(value)(), f.name
        elif f.default is not dataclasses.MISSING and f.name not in ("source",):
            assert value == f.default, f.name
