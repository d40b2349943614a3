"""The generated parts of the docs are current, and the README keeps its two set-up commands."""
from __future__ import annotations

import subprocess
import sys

import pytest

from support.repos import ROOT


@pytest.mark.parametrize(("script", "page"), [("cli_docs.py", "docs/cli.md"),
                                               ("config_docs.py", "docs/configuration.md")])
def test_generated_reference_is_current(script: str, page: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"{page} is stale: run python scripts/{script}\n{proc.stderr}"


def test_readme_has_the_two_setup_commands_and_links_every_page() -> None:
    text = (ROOT / "README.md").read_text()
    assert "shiftctl demo" in text and "./scripts/test.sh" in text
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in text, f"README does not link docs/{page.name}"


def test_protocol_reference_is_generated_from_the_schemas() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "protocol_docs.py"),
                           "--check"], cwd=ROOT)
    assert proc.returncode == 0, "run: python scripts/protocol_docs.py"
