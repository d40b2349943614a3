"""The launcher seam: configured by workers.launcher (errors name the key); a recorded run is
always handled by the launcher that started it, whatever the configuration says now."""
from __future__ import annotations

from pathlib import Path

import pytest

from shiftctl.admin import launchers
from shiftctl.admin.config import ConfigError, parse
from shiftctl.admin.launchers.base import LauncherError
from shiftctl.admin.launchers.local import LocalLauncher
from shiftctl.memory.store import Run


def test_the_default_launcher_is_local_processes() -> None:
    cfg = parse({}, Path("/r"))
    assert cfg.workers.launcher.kind == "local"
    assert isinstance(launchers.current(cfg), LocalLauncher)


@pytest.mark.parametrize("doc, key", [
    ({"workers": {"launcher": {"kind": "nomad"}}}, "workers.launcher.kind"),
    ({"workers": {"launcher": {"kind": "local", "queue": 3}}}, "workers.launcher.queue"),
    ({"workers": {"launcher": "local"}}, "workers.launcher"),
])
def test_a_bad_launcher_setting_names_its_key(doc: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse(doc, Path("/r"))


def test_a_recorded_run_goes_to_the_launcher_that_started_it() -> None:
    cfg = parse({}, Path("/r"))
    assert isinstance(launchers.for_run(Run(id="r", issue=1, started_at=0), cfg), LocalLauncher)
    with pytest.raises(LauncherError, match="'elsewhere'"):
        launchers.for_run(Run(id="r", issue=1, started_at=0, launcher="elsewhere"), cfg)


def test_the_rq_launcher_takes_a_queue_and_the_name_of_the_url_variable() -> None:
    cfg = parse({"workers": {"launcher": {"kind": "rq", "queue": "team-a",
                                          "redis_url_env": "TEAM_REDIS"}}}, Path("/r"))
    assert (cfg.workers.launcher.kind, cfg.workers.launcher.queue,
            cfg.workers.launcher.redis_url_env) == ("rq", "team-a", "TEAM_REDIS")


@pytest.mark.parametrize("launcher, key", [
    ({"kind": "rq", "redis_url_env": "redis://:secret@db:6379/0"},
     "workers.launcher.redis_url_env"),
    ({"kind": "rq", "queue": "a queue"}, "workers.launcher.queue"),
])
def test_the_redis_url_is_never_configured_in_the_file(launcher: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse({"workers": {"launcher": launcher}}, Path("/r"))


def test_a_lost_host_spends_no_attempt_and_the_task_runs_again_at_once() -> None:
    from shiftctl.admin.cycle.outcomes import after_run
    step = after_run("lost", attempts=3, max_attempts=3, now=100.0)
    assert (step.state, step.counted, step.not_before, step.comment) == \
        ("ready", False, None, None)
