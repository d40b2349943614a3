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
