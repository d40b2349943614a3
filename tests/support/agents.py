"""Agents for tests: scripted agent programs, the real agent CLIs, the scripted model server."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_server import ModelServer
from support.assets import require_file
from support.repos import ROOT

AGENTS = ROOT / "tests" / "agents"
AGENT_BIN = Path(os.environ.get("SHIFTCTL_AGENT_BIN")
                 or ROOT / ".cache" / "node" / "agents" / "node_modules" / ".bin")


def agent_cli(name: str) -> str:
    """A real agent CLI (``claude``, ``codex``) as ``scripts/test.sh`` installs it."""
    return str(require_file("agents", AGENT_BIN / name))


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A scripted model API on 127.0.0.1; a test sets ``model_server.script``."""
    server = ModelServer().start()
    yield server
    server.stop()


def agent_argv(name: str, *extra: str) -> list[str]:
    """A scripted agent for the ``command`` profile."""
    return [sys.executable, str(AGENTS / name), "{prompt_file}", "{worktree}", *extra]


def opencode_profile(**env: str) -> dict[str, Any]:
    """A profile of kind ``opencode`` whose CLI is the scripted agent speaking opencode's
    JSON events: the way a scripted agent reports a cost from a read-only run, or a
    provider's rate limit (the ``command`` adapter reads neither)."""
    return {"kind": "opencode", "argv": [sys.executable, str(AGENTS / "scripted.py")],
            "env": {"AGENT_FORMAT": "opencode", **env}}
