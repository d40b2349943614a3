"""The attack on the event log that any writer of state.db can make, for tests to run.

The code lives in ``tests/agents/forger.py`` so that the same attack also runs as a hostile
agent (a self-contained script, copied where a sandbox can run it); this loads it as a module.
"""
from __future__ import annotations

import importlib.util
from types import ModuleType

from support.agents import AGENTS


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shiftctl_test_forger", AGENTS / "forger.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_forger = _load()
forge = _forger.forge
peek = _forger.peek
