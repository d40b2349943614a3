"""A project and a HOME outside /tmp, the HOME holding a fake SSH key: what sandbox tests
attack. (Under /tmp the sandbox's private /tmp would hide them anyway, which would prove
nothing about HOME or the runtime directory; Codex also keeps no state under /tmp.)"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shiftctl.system import sandbox

from support.assets import require
from support.project import Project, end_workers
from support.repos import make_repo, outside_tmp


def require_bwrap() -> None:
    """Skip where bwrap cannot run (fail under SHIFTCTL_REQUIRE_BWRAP=1)."""
    why = sandbox.probe()
    require("bwrap", why is None, f"bwrap cannot run here: {why}")


@dataclass
class Guarded:
    project: Project
    home: Path   # the user's HOME as the admin and the worker see it
    key: Path    # a fake private key in it

    @property
    def secret(self) -> str:
        return self.key.read_text()


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guarded]:
    base = outside_tmp("sandbox")
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(Path(os.environ["HOME"]) / ".gitconfig", home / ".gitconfig")
    key = home / ".ssh" / "id_rsa"
    key.write_text(f"FAKE PRIVATE KEY {uuid.uuid4().hex}\n")
    monkeypatch.setenv("HOME", str(home))
    p = Project(make_repo(base / "repo"))
    p.configure()
    try:
        yield Guarded(p, home, key)
    finally:
        end_workers(p)
        shutil.rmtree(base, ignore_errors=True)
