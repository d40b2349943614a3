"""How a person can call this very shiftctl again: ``shiftctl`` when that is on PATH and
is this one, else the script's full path, else ``python -m shiftctl`` (after the Quick start
it lives in ``.venv/bin``, not on PATH: telling people to "run `shiftctl status`" fails)."""
from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def how_to_call(argv0: str | None = None, path: str | None = None) -> str:
    argv0 = sys.argv[0] if argv0 is None else argv0
    script = Path(argv0) if Path(argv0).name == "shiftctl" else None
    found = shutil.which("shiftctl", path=path)
    if found and (script is None or Path(found).resolve() == script.resolve()):
        return "shiftctl"
    if script is not None and script.is_file():
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m shiftctl"
