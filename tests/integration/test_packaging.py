"""``pip install shiftctl`` puts one import package into site-packages: ``shiftctl``."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from support.repos import ROOT


def test_the_wheel_holds_one_import_package_with_every_module_and_template(
        tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("shiftctl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.startswith("shiftctl-")} == {"shiftctl"}
    for folder in ("admin", "worker", "memory", "prompts"):  # installed beneath it
        assert f"shiftctl/{folder}/__init__.py" in names
    sources = {f"shiftctl/{p.relative_to(ROOT)}" for folder in ("admin", "worker", "memory")
               for p in (ROOT / folder).rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))[:5]  # no subpackage forgotten
    assert "shiftctl/prompts/frame/work.md.j2" in names
    assert any(n.startswith("shiftctl/admin/serve/templates/") for n in names)
