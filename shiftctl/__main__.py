"""``python -m shiftctl``: the command line."""
from __future__ import annotations

from shiftctl.admin.cli.entry import main

main()
