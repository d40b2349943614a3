"""The command a message tells people to run is one that works from where they are."""
from __future__ import annotations

import sys
from pathlib import Path

from shiftctl.admin.cli.invocation import how_to_call


def test_on_path_it_is_plain_shiftctl(tmp_path: Path) -> None:
    script = tmp_path / "shiftctl"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert how_to_call(str(script), path=str(tmp_path)) == "shiftctl"


def test_off_path_it_is_the_script_or_python_m(tmp_path: Path) -> None:
    script = tmp_path / "venv" / "shiftctl"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert how_to_call(str(script), path=str(tmp_path / "empty")) == str(script)
    assert how_to_call("/x/shiftctl/__main__.py", path=str(tmp_path / "empty")) == \
        f"{sys.executable} -m shiftctl"
