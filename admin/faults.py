"""Fault injection for tests: ``SHIFTCTL_FAULT=point`` makes the admin die right there.

Every side-effect point calls ``point(name)``; in production the variable is unset and the
call costs one dictionary lookup.
"""
from __future__ import annotations

import os

EXIT_CODE = 86


def point(name: str) -> None:
    wanted = os.environ.get("SHIFTCTL_FAULT")
    if wanted and wanted == name:
        os._exit(EXIT_CODE)
