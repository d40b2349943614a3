"""Registers the shared test helpers as plugins and marks each test with its tier.

Tiers (``pytest -m unit|integration|e2e``), by folder:
- ``unit/``: pure logic with plain data, no subprocesses (seconds for all of them);
- ``integration/``: one real part at a time (git, SQLite, a worker process, a tracker, bwrap);
- ``e2e/``: the whole loop, issue to pull request, with real agents where they apply.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["support.isolation", "support.agents", "support.project", "support.github",
                  "support.sandbox", "support.serve", "support.rqhosts"]

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        try:
            tier = Path(item.fspath).relative_to(here).parts[0]
        except ValueError:
            continue
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
