"""``python -m shiftctl.worker SPEC``: run one attempt described by a ``spec.json``."""
from __future__ import annotations

import sys
from pathlib import Path

from shiftctl.worker.main import main

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m shiftctl.worker SPEC.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
