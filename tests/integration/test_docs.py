"""The README's CLI reference is generated from --help and must be current."""
from __future__ import annotations

import subprocess
import sys

from support.repos import ROOT


def test_readme_cli_reference_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check"],
                          cwd=ROOT)
    assert proc.returncode == 0, "run: python scripts/cli_docs.py"


def test_readme_has_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "shiftctl demo" in text and "./scripts/test.sh" in text
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_protocol_reference_is_generated_from_the_schemas() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "protocol_docs.py"),
                           "--check"], cwd=ROOT)
    assert proc.returncode == 0, "run: python scripts/protocol_docs.py"
