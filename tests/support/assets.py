"""Assets that ``scripts/test.sh`` installs (npm packages, Debian packages): a test that needs
a missing one skips at once with the reason, or fails where the run requires it (CI sets
``SHIFTCTL_REQUIRE_<WHAT>=1``)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def require(what: str, present: bool, why: str) -> None:
    """Skip (or, under ``SHIFTCTL_REQUIRE_<WHAT>=1``, fail) when ``present`` is false."""
    if present:
        return
    if os.environ.get(f"SHIFTCTL_REQUIRE_{what.upper()}") == "1":
        pytest.fail(why)
    pytest.skip(why)


def require_file(what: str, path: Path) -> Path:
    require(what, path.exists(), f"{path} is not installed (scripts/test.sh installs it)")
    return path
