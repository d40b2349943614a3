"""``shiftctl demo`` runs end to end, offline, in under a minute."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from shiftctl.admin import config as config_mod
from shiftctl.admin.cli.status import collect_status

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_loop(tmp_path) -> None:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "shiftctl", "demo", "--dir",
                           str(tmp_path / "d")], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 60
    out = proc.stdout
    assert "Pull requests:" in out and "Where to look:" in out
    repo = tmp_path / "d" / "demo-repo"
    status = collect_status(config_mod.load(repo))
    by_title = {i["title"]: i for i in status["issues"]}
    assert set(by_title) == {"Add a slugify helper", "Make add() faster"}  # two were ignored
    good, bad = by_title["Add a slugify helper"], by_title["Make add() faster"]
    assert good["state"] == "done" and good["pr"] is not None
    assert {t["state"] for t in good["tasks"]} == {"done"}
    assert bad["state"] == "needs_human"
    assert [t["state"] for t in bad["tasks"]] == ["needs_human", "cancelled"]
    assert "(draft)" not in out.split("Pull requests:")[1].splitlines()[1]


def test_the_demo_names_a_command_that_works_when_shiftctl_is_not_on_path(tmp_path) -> None:
    """Issue 13, item 9: after the Quick start shiftctl lives in .venv/bin, not on PATH."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "shiftctl", "demo", "--dir",
                           str(tmp_path / "d")], capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    where = proc.stdout.split("Where to look:")[1]
    assert f"  {sys.executable} -m shiftctl status" in where
    assert "\n  shiftctl status" not in where
    status = subprocess.run([sys.executable, "-m", "shiftctl", "-C",
                             str(tmp_path / "d" / "demo-repo"), "status"],
                            capture_output=True, text=True, env=env)
    assert status.returncode == 0 and "Add a slugify helper" in status.stdout
